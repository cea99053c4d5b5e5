# Execute trusts what the checks found at stage time only while the
# account's configuration is the one they ran against: each staged record
# carries the configuration generation of its Stage request, and a batch
# whose records were all staged under the generation of now skips the
# engine's set-based checks (prefs_import_run, migration 035).  Here: records
# valid at stage and made invalid by a configuration change before Execute
# become exceptions with the Data API's message; with the configuration
# unchanged the results (outcomes, rendered copies, rows) are those of the
# same records checked again; the decision is a batch's, and
# prefs_import.rechecked counts the records checked again.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its jobs must be run by its own helper (any
#   nginx's helper claims any queued job)
use strict;
use warnings;
use Test::More;
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = 'ImportRecheckCo';
PrefsTest::api_account($client);
my $secret = (PrefsTest::make_user($client, 'admin', 'Administrators'))[0];
PrefsTest::api_config_import($client);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);
my $uid = psql_value("SELECT user_id FROM prefs_user WHERE account_id = :'a' AND user_name = 'admin'", a => $acct);

# batches of 4 records: the decision to check again is a batch's
my $ng = PrefsTest::start_nginx(name => 'import-recheck',
    http_config => 'prefs_job_lease 2s; prefs_helper_poll_interval 1s; prefs_import_batch 4;');
ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');

sub call {
    my ($method, $path, $body) = @_;
    my %h = (Authorization => pnauth($client, 'admin', $secret));
    $h{'Content-Type'} = 'application/json' if defined $body;
    my ($st, undef, $raw) = $ng->request(method => $method, path => "/Profiles/v4/Async/$client/$path",
                                         headers => \%h, body => $body, timeout => 60);
    return ($st, scalar(eval { decode_json($raw) }), $raw);
}

sub initiate {
    my ($st, $j, $raw) = call('POST', 'Import', encode_json({ Name => 'recheck', SuppressEvents => JSON::PP::true }));
    die "initiate: $st $raw\n" unless $st == 200;
    return $j->{AccessToken};
}

sub stage {
    my ($token, $records) = @_;
    my ($st, $j, $raw) = call('POST', "Import/$token/Stage", encode_json({ UserProfilePreferences => $records }));
    die "stage: $st $raw\n" unless $st == 200;
    return $j;
}

sub run_import {
    my ($token) = @_;
    my ($st, undef, $raw) = call('POST', "Import/$token/Execute");
    die "execute: $st $raw\n" unless $st == 200;
    return wait_until(sub { ((call('GET', "Import/$token/Status"))[1]{Status} // '') eq 'Completed' }, 60);
}

sub import_value {
    my ($sql, $token) = @_;
    return psql_value($sql, t => $token // '', a => $acct);
}

sub rechecked { import_value("SELECT rechecked FROM prefs_import WHERE access_token = :'t'", $_[0]) }

# position: outcome, one line each
sub outcomes {
    my ($token) = @_;
    my $out = psql("SELECT r.request_no || '/' || r.position || ' ' || coalesce(r.outcome, r.state)"
                   . " || coalesce(' ' || r.path, '') FROM prefs_import_record r JOIN prefs_import i"
                   . " USING (import_id) WHERE i.access_token = :'t' ORDER BY r.request_no, r.position",
                   t => $token);
    $out =~ s/\s+\z//;
    return $out;
}

# the configuration change: FavoriteCategory (a required list) without "Garden"
sub category_values {
    my ($values) = @_;
    psql("UPDATE prefs_config_item SET body = jsonb_set(body, '{AllowedValues}', :'v')"
         . " WHERE account_id = :'a' AND kind = 'CustomField' AND key = 'FavoriteCategory'",
         a => $acct, v => encode_json($values));
}
my @all_categories = qw(Electronics Garden Kitchen Outdoor Toys);

# a configuration write that changes nothing: the generation moves all the same
sub touch_config {
    psql("UPDATE prefs_config_item SET body = body WHERE account_id = :'a' AND kind = 'Tag'", a => $acct);
}

sub rec {
    my ($crm, $category, %more) = @_;
    return { CustomerName => { FirstName => "F$crm" }, AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
             CustomFields => [ { Name => 'FavoriteCategory', Value => $category } ],
             Emails => [ { EmailAddress => "$crm\@example.com",
                           EmailPreferences => [ { FilterId => 'NewsletterEmail', PreferenceType => 1 } ] } ],
             %more };
}

# 1. valid at stage, made invalid by the configuration before Execute: checked again, refused
my $t1 = initiate();
my $s = stage($t1, [ (map { rec("g$_", 'Garden') } 1 .. 4), rec('k1', 'Toys'), rec('k2', 'Kitchen'), 7 ]);
is_deeply([ @$s{qw(ValidationSuccessful ValidationFailed)} ], [ 6, 1 ], 'six records valid at stage, one refused');
is(import_value("SELECT count(*) FILTER (WHERE r.config_generation = prefs_config_generation(:'a') AND r.plain)"
                . " FROM prefs_import_record r JOIN prefs_import i USING (import_id) WHERE i.access_token = :'t'", $t1),
   6, 'each carries the configuration generation of its stage, and what the checks found');
category_values([ grep { $_ ne 'Garden' } @all_categories ]);
ok(run_import($t1), 'the import completes');
is(outcomes($t1), join("\n", (map { "1/$_ failed CustomFields[0].Value" } 0 .. 3), '1/4 created', '1/5 created',
                      '1/6 invalid'),
   'the records the configuration now refuses failed at execute, the others were created');
my ($xs, $xj) = call('GET', "Import/$t1/Exceptions");
is_deeply([ $xs, $xj->{TotalResults}, map { "$_->{Stage} $_->{Position}" } @{ $xj->{Exceptions} || [] } ],
          [ 200, 5, 'Validation 6', map { "Execution $_" } 0 .. 3 ],
          'Exceptions lists them as execution exceptions, after the refusal of the stage (the order found)');
is($xj->{Exceptions}[1]{Message}, 'CustomFields[0].Value must be one of Electronics, Kitchen, Outdoor, Toys',
   'with the message of the Data API');
($xs, $xj) = call('GET', "Import/$t1/Exceptions?limit=2&offset=2");
is_deeply([ $xs, @$xj{qw(Count HasMore)}, map { "$_->{Stage} $_->{Position}" } @{ $xj->{Exceptions} || [] } ],
          [ 200, 2, JSON::PP::true, 'Execution 0', 'Execution 1' ], 'a page of them');
is(rechecked($t1), 6, 'its batches were checked again');
is(import_value("SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = :'a' AND value LIKE 'g_'"),
   0, 'no profile was written for a refused record');
category_values(\@all_categories);

# 2. the configuration unchanged: the same results as the records checked again.  The
#    same records (by their tag) in two imports: "a" with a configuration write between
#    stage and Execute (checked again), "b" without.  Among them a record the set-based
#    checks leave to the per-profile path (a preference with a CustomerDate), and one whose
#    alternate id another profile took after staging.
sub set_of {
    my ($tag) = @_;
    return [ rec("$tag-1", 'Garden'), rec("$tag-2", 'Toys', Tags => [ 'VIP' ]),
             rec("$tag-3", 'Outdoor', Emails => [ { EmailAddress => "$tag-3\@example.com", EmailPreferences => [
                 { FilterId => 'NewsletterEmail', PreferenceType => 2, CustomerDate => '2024-05-01T00:00:00Z' } ] } ]),
             rec("$tag-4", 'Kitchen'), rec("$tag-taken", 'Garden'), rec("$tag-6", 'Electronics') ];
}
my %tok;
for my $tag (qw(a b)) {
    my $t = $tok{$tag} = initiate();
    is(stage($t, set_of($tag))->{ValidationSuccessful}, 6, "import $tag: six records valid at stage");
    is(import_value("SELECT string_agg(r.plain::text, ',' ORDER BY r.position) FROM prefs_import_record r"
                    . " JOIN prefs_import i USING (import_id) WHERE i.access_token = :'t'", $t),
       'true,true,false,true,true,true', "import $tag: the checks took all but the CustomerDate one");
    # another profile takes an alternate id of the import
    psql("SELECT outcome FROM prefs_engine_apply(:'a', :'u', :'b', NULL)", a => $acct, u => $uid,
         b => encode_json([ rec("$tag-taken", 'Toys') ]));
    touch_config() if $tag eq 'a';
    ok(run_import($t), "import $tag completes");
}
is(rechecked($tok{a}), 6, 'import a (configuration written since its stage) was checked again');
is(rechecked($tok{b}), 0, 'import b (configuration unchanged) was not');
my $expect = join "\n", '1/0 created', '1/1 created', '1/2 created', '1/3 created',
                        '1/4 failed AlternateIds[0].Value', '1/5 created';
is(outcomes($tok{a}), $expect, 'import a: the outcomes');
is(outcomes($tok{b}), $expect, 'import b: the same outcomes');

# the profiles each import wrote (copies, by position), ids, dates and tags made alike
sub written {
    my ($tag) = @_;
    my $out = psql("SELECT d.doc FROM prefs_import_record r JOIN prefs_import i USING (import_id)"
                   . " JOIN prefs_profile_doc d ON d.profile_id = r.profile_id::bigint"
                   . " WHERE i.access_token = :'t' AND r.outcome = 'created' ORDER BY r.position",
                   t => $tok{$tag});
    $out =~ s/"(ProfileId|EmailId|PhoneId|AddressId|By)" : \d+/"$1" : 0/g;
    $out =~ s/"\d{4}-\d\d-\d\dT[^"]*"/"T"/g;
    $out =~ s/\b(F?)$tag-/$1X-/g;
    return $out;
}
my $wa = written('a');
is(scalar(() = $wa =~ /"X-\d\@example.com"/g), 5, 'import a wrote five profiles');
is(written('b'), $wa, 'import b wrote the same profiles');
is(import_value("SELECT count(*) FROM prefs_import_record r JOIN prefs_import i USING (import_id)"
                . " JOIN prefs_profile x ON x.profile_id = r.profile_id::bigint"
                . " JOIN prefs_profile_doc d ON d.profile_id = x.profile_id"
                . " WHERE i.access_token = :'t' AND r.outcome = 'created'"
                . " AND d.doc = prefs_data_profile_json(x, false)::text AND d.src_xmin = x.xmin", $tok{b}),
   5, 'and their copies are the current rendering');
for my $table (qw(prefs_preference prefs_profile_custom_field prefs_profile_tag prefs_profile_email prefs_consent_assoc)) {
    my $count = sub {
        import_value("SELECT count(*) FROM $table x JOIN prefs_import_record r ON x.profile_id = r.profile_id::bigint"
                     . " JOIN prefs_import i USING (import_id) WHERE i.access_token = :'t'", $_[0]);
    };
    is($count->($tok{b}), $count->($tok{a}), "$table: as many rows for both");
}

# 3. per batch: a Stage request before a configuration write and one after it; the
#    batch of the first is checked again, the batch of the second is not
my $t3 = initiate();
stage($t3, [ map { rec("m$_", 'Toys') } 1 .. 4 ]);
touch_config();
stage($t3, [ map { rec("n$_", 'Toys') } 1 .. 4 ]);
ok(run_import($t3), 'an import staged across a configuration write completes');
is(outcomes($t3), join("\n", (map { "1/$_ created" } 0 .. 3), map { "2/$_ created" } 0 .. 3),
   'every record created');
is(rechecked($t3), 4, 'only the batch staged before the write was checked again');

# 4. a configuration write during a batch: that batch is undone and run again with the
#    checks.  The write is made by a trigger on the batch's first insert (the batch's
#    transaction writes the configuration: the generation it read is no longer the one
#    of now when the batch ends).
psql(q{CREATE OR REPLACE FUNCTION t146_touch() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF EXISTS (SELECT 1 FROM t146_new WHERE first_name = 'Fw1') THEN
                 UPDATE prefs_config_item SET body = body
                  WHERE account_id = (SELECT account_id FROM t146_new LIMIT 1) AND kind = 'Tag';
             END IF; RETURN NULL; END $$});
psql("CREATE OR REPLACE TRIGGER t146_touch AFTER INSERT ON prefs_profile REFERENCING NEW TABLE AS t146_new"
     . " FOR EACH STATEMENT EXECUTE FUNCTION t146_touch()");
my $t4 = initiate();
stage($t4, [ map { rec("w$_", 'Toys') } 1 .. 4 ]);
ok(run_import($t4), 'an import whose batch writes the configuration completes');
psql("DROP TRIGGER t146_touch ON prefs_profile");
psql("DROP FUNCTION t146_touch()");
is(outcomes($t4), join("\n", map { "1/$_ created" } 0 .. 3), 'every record created once');
is(import_value("SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = :'a' AND value LIKE 'w_'"),
   4, 'four profiles, none twice');
is(rechecked($t4), 4, 'the batch was run again with the checks');

my @bad = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');

$ng->stop;
done_testing();
