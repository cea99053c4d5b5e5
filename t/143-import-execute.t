# Bulk import executed by the helper: the whole workflow over HTTP in JSON,
# NDJSON and CSV with exact counters, the events written (with the import as
# their Source) or suppressed, matching by alternate id (updates), Delete,
# one import of an account at a time, and exact counts (every record
# applied once, none lost) when the helper is SIGKILLed, nginx reloads or
# PostgreSQL restarts during an execute, and with two nginx on one
# database; the purge of an expired import.
#
# prefs-test: exclusive (scripts/test.sh runs it alone): its jobs must be run by its own helpers (any
#   nginx's helper claims any queued job), and it restarts PostgreSQL
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP;
use PrefsTest;

plan skip_all => 'needs the test database' unless $ENV{TEST_NGINX_PREFS_DATABASE};

my $client = 'ImportExecCo';
PrefsTest::api_account($client);
my $secret = (PrefsTest::make_user($client, 'admin', 'Administrators'))[0];
PrefsTest::api_config_import($client);
my $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'", c => $client);

my $http = 'prefs_job_lease 2s; prefs_helper_poll_interval 1s; prefs_import_batch 40;'
         . ' client_max_body_size 30m;';
my $ng = PrefsTest::start_nginx(name => 'import-exec', http_config => $http);
ok(wait_until(sub { $ng->helper_pid }, 5), 'the helper runs');

sub call {
    my ($node, $method, $path, $body, $type) = @_;
    my %h = (Authorization => pnauth($client, 'admin', $secret));
    $h{'Content-Type'} = $type // 'application/json' if defined $body;
    my ($st, undef, $raw) = $node->request(method => $method, path => "/Profiles/v4/Async/$client/$path",
                                           headers => \%h, body => $body, timeout => 60);
    return ($st, scalar(eval { decode_json($raw) }), $raw);
}

sub initiate {
    my (%o) = @_;
    my ($st, $j, $raw) = call($ng, 'POST', 'Import', encode_json({ Name => 'exec', %o }));
    die "initiate: $st $raw\n" unless $st == 200;
    return $j->{AccessToken};
}

sub rec {
    my ($crm, %more) = @_;
    return { CustomerName => { FirstName => "F$crm" }, AlternateIds => [ { Type => 'CRMId', Value => $crm } ],
             CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ],
             Emails => [ { EmailAddress => "$crm\@example.com" } ], %more };
}

sub stage {
    my ($node, $token, $records, $ndjson) = @_;
    my $body = $ndjson ? join("\n", map { encode_json($_) } @$records) . "\n"
                       : encode_json({ UserProfilePreferences => $records });
    my ($st, $j, $raw) = call($node, 'POST', "Import/$token/Stage", $body,
                              $ndjson ? 'application/x-ndjson' : 'application/json');
    die "stage: $st $raw\n" unless $st == 200;
    return $j;
}

sub execute {
    my ($token) = @_;
    my ($st, $j, $raw) = call($ng, 'POST', "Import/$token/Execute");
    die "execute: $st $raw\n" unless $st == 200;
    return $j;
}

sub status { (call($ng, 'GET', "Import/$_[0]/Status"))[1] || {} }

sub completed {
    my ($token, $secs) = @_;
    return wait_until(sub { (status($token)->{Status} // '') eq 'Completed' }, $secs // 30);
}

sub import_sql {
    my ($sql, $token) = @_;
    return psql_value($sql, t => $token, s => "import:$token", a => $acct);
}

sub outcomes {
    my ($token) = @_;
    my $out = psql("SELECT coalesce(outcome, state), count(*) FROM prefs_import_record r JOIN prefs_import i"
                   . " USING (import_id) WHERE i.access_token = :'t' GROUP BY 1 ORDER BY 1", t => $token);
    $out =~ s/\s+\z//;
    return $out;
}

sub created_events {
    import_sql("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND source = :'s'"
               . " AND event_type = 'profile.created'", $_[0]);
}

sub crm_profiles {
    my ($like) = @_;
    return psql_value("SELECT count(DISTINCT profile_id) || '/' || count(*) FROM prefs_profile_alternate_id"
                      . " WHERE account_id = :'a' AND type = 'CRMId' AND value LIKE :'l' AND is_active",
                      a => $acct, l => $like);
}

# 1. JSON and NDJSON in one import, a refused record among them
my $t1 = initiate();
my $s = stage($ng, $t1, [ (map { rec("a$_") } 1 .. 29), rec('a-bad', Emails => [ { EmailAddress => 'nope' } ]) ]);
is($s->{ValidationFailed}, 1, 'the JSON stage refused the bad record');
$s = stage($ng, $t1, [ map { rec("b$_") } 1 .. 20 ], 1);
is_deeply([ @$s{qw(TotalRecordsReceived ValidationSuccessful ValidationFailed Status)} ], [ 50, 49, 1, 'Staging' ],
          'the NDJSON stage adds to the counters');
my ($cst, $cj, $craw) = call($ng, 'POST', "Import/$t1/Stage",
    "Email,AlternateId:CRMId,CustomField:FavoriteCategory,FirstName\n"
    . join('', map { "v$_\@example.com,v$_,Garden,\"V, $_\"\n" } 1 .. 5), 'text/csv');
is_deeply([ $cst, @{ $cj || {} }{qw(TotalRecordsReceived ValidationSuccessful)} ], [ 200, 55, 54 ],
          'a CSV stage adds its rows') or diag($craw);
my $e = execute($t1);
is($e->{Status}, 'Queued', 'Execute queues the import');
ok(completed($t1), 'the helper completes it');
my $st = status($t1);
is_deeply([ @$st{qw(TotalRecordsReceived ValidationSuccessful ValidationFailed Processed Pending Exceptions
                    PercentComplete)} ], [ 55, 54, 1, 54, 0, 0, 100 ], 'its counters are exact');
ok($st->{StartedDate} && $st->{CompletedDate} && $st->{RecordsPerSecond} > 0, 'with its dates and rate');
is(outcomes($t1), "created|54\ninvalid|1", 'every valid record created a profile');
is(crm_profiles('a%') . ' ' . crm_profiles('b%') . ' ' . crm_profiles('v%'), '29/29 20/20 5/5',
   'one profile per record, JSON, NDJSON or CSV');
is(created_events($t1), 54, 'a profile.created event each, with the import as Source');
is(import_sql("SELECT count(*) FROM prefs_import_record r JOIN prefs_import i USING (import_id)"
              . " WHERE i.access_token = :'t' AND r.state = 'applied' AND r.record IS NOT NULL", $t1), 0,
   'applied records keep no copy of themselves');

# 2. SuppressEvents: profiles, no events
my $t2 = initiate(SuppressEvents => JSON::PP::true);
stage($ng, $t2, [ map { rec("c$_") } 1 .. 10 ]);
execute($t2);
ok(completed($t2), 'a SuppressEvents import completes');
is(crm_profiles('c%'), '10/10', 'its profiles are there');
is(import_sql("SELECT count(*) FROM prefs_event WHERE account_id = :'a' AND source = :'s'", $t2), 0,
   'and no event was written');

# 3. match by alternate id: the same CRMIds update their profiles
my $t3 = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId');
stage($ng, $t3, [ map { rec("a$_", CustomerName => { FirstName => 'Renamed' }) } 1 .. 5 ]);
execute($t3);
ok(completed($t3), 'a match-by-CRMId import completes');
is(outcomes($t3), 'updated|5', 'its records updated the matched profiles');
is(crm_profiles('a%'), '29/29', 'no profile was added');
is(psql_value("SELECT count(*) FROM prefs_profile p JOIN prefs_profile_alternate_id a USING (profile_id)"
              . " WHERE a.account_id = :'a' AND a.type = 'CRMId' AND a.value IN ('a1','a2','a3','a4','a5')"
              . " AND p.first_name = 'Renamed'", a => $acct), 5, 'with the new names');

# 3b. a Refresh flag: RefreshTags removes the tags a record does not carry; without it they stay
sub tags_of {
    return psql_value("SELECT string_agg(t.tag, ',' ORDER BY t.tag) FROM prefs_profile_tag t"
                      . " JOIN prefs_profile_alternate_id a USING (profile_id)"
                      . " WHERE a.account_id = :'a' AND a.type = 'CRMId' AND a.value = :'v'", a => $acct, v => $_[0]);
}
my $t8 = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId');
stage($ng, $t8, [ map { rec($_, Tags => [ 'VIP', 'Early Adopter' ]) } 'a6', 'a7' ]);
execute($t8);
ok(completed($t8), 'tags added by an import');
is(tags_of('a6') . ' ' . tags_of('a7'), 'Early Adopter,VIP Early Adopter,VIP', 'both profiles have both tags');
my $t9 = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId', RefreshTags => JSON::PP::true);
stage($ng, $t9, [ rec('a6', Tags => [ 'VIP' ]) ]);
my $t10 = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId');
stage($ng, $t10, [ rec('a7', Tags => [ 'VIP' ]) ]);
execute($t9);
execute($t10);
ok(completed($t9) && completed($t10), 'a RefreshTags import and one without');
is(tags_of('a6'), 'VIP', 'RefreshTags: the tag the record does not carry is removed');
is(tags_of('a7'), 'Early Adopter,VIP', 'without it, merged');

# 3c. the other Refresh flags: an import with RefreshAlternateIds, RefreshContacts,
#     RefreshCustomFields and RefreshGroups leaves only what its record carries; the same
#     record imported without them merges
sub doc_of {
    my $raw = psql("SELECT prefs_profile_get(a.account_id, a.profile_id, false) FROM prefs_profile_alternate_id a"
                   . " WHERE a.account_id = :'a' AND a.type = 'CRMId' AND a.value = :'v' AND a.is_active",
                   a => $acct, v => $_[0]);
    return eval { decode_json($raw) } || {};
}
sub shape {
    my ($d) = @_;
    return join(' ', join(',', sort map { $_->{Type} } @{ $d->{AlternateIds} // [] }),
                scalar @{ $d->{Emails} // [] } . 'e' . scalar @{ $d->{PhoneNumbers} // [] } . 'p'
                . scalar @{ $d->{Addresses} // [] } . 'a',
                join(',', sort map { $_->{Name} } @{ $d->{CustomFields} // [] }),
                join(',', sort map { $_->{Name} } @{ $d->{Groups} // [] }));
}
my @full = (
    AlternateIds => [ { Type => 'CRMId', Value => 'REPL' }, { Type => 'LoyaltyNumber', Value => 'L-REPL' } ],
    Emails => [ { EmailAddress => 'REPL@example.com' }, { EmailAddress => 'REPL@work.example' } ],
    PhoneNumbers => [ { PhoneNumber => '+15550100150', PhoneNumberType => 'Mobile' } ],
    Addresses => [ { Address1 => '1 Main St', City => 'Springfield', PostalCode => '62701', CountryCode => 'US' } ],
    CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' }, { Name => 'Nickname', Value => 'R' } ],
    Groups => [ { Type => 'Household', Name => 'REPL' } ]);
sub full_rec {
    my ($crm) = @_;
    my $j = encode_json({ @full });
    $j =~ s/REPL/$crm/g;
    return rec($crm, %{ decode_json($j) });
}
my $tf = initiate();
stage($ng, $tf, [ map { full_rec($_) } 'g1', 'g2' ]);
execute($tf);
ok(completed($tf), 'two full profiles imported');
is(shape(doc_of('g1')), 'CRMId,LoyaltyNumber 2e1p1a FavoriteCategory,Nickname g1', 'with everything');
my %refresh = map { $_ => JSON::PP::true } qw(RefreshAlternateIds RefreshContacts RefreshCustomFields RefreshGroups);
my @slim = (PhoneNumbers => [], Addresses => [], Groups => []);
my $tr = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId', %refresh);
stage($ng, $tr, [ rec('g1', @slim) ]);
my $tn = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId');
stage($ng, $tn, [ rec('g2', @slim) ]);
execute($tr);
execute($tn);
ok(completed($tr) && completed($tn), 'an import with the four other Refresh flags and one without');
is(shape(doc_of('g1')), 'CRMId 1e0p0a FavoriteCategory ',
   'Refresh*: the alternate id, contact points, custom field and group the record lacks are gone');
is(shape(doc_of('g2')), 'CRMId,LoyaltyNumber 2e1p1a FavoriteCategory,Nickname g2', 'without them, merged');
is(psql_value("SELECT count(*) FROM prefs_profile_alternate_id WHERE account_id = :'a' AND value = 'L-g1'"
              . " AND is_active", a => $acct), 0, 'the alternate id is inactive in its table too');

# 3d. AllowPriorConsents: without it a record with a consent of a prior version (Marketing
#     1.0; 2.0 is active) is executed but not honored (NotHonored, listed by Exceptions,
#     nothing written); with it the prior version is recorded
sub marketing { [ { ConsentType => 'Marketing', ConsentVersion => $_[0], ConsentStatus => 1,
                    ConsentDate => '2024-01-01T00:00:00Z' } ] }
my $tp = initiate();
stage($ng, $tp, [ rec('zp1', Consents => marketing('1.0')), rec('zp2', Consents => marketing('2.0')) ]);
execute($tp);
ok(completed($tp), 'an import with a prior consent version completes');
is_deeply([ @{ status($tp) }{qw(Processed Exceptions NotHonored)} ], [ 2, 0, 1 ],
          'the prior version is counted NotHonored, not as an exception');
my ($xs, $xj) = call($ng, 'GET', "Import/$tp/Exceptions");
is_deeply([ $xs, $xj->{TotalResults}, map { @$_{qw(Position Stage Path)} } @{ $xj->{Exceptions} || [] } ],
          [ 200, 1, 0, 'NotHonored', 'Consents[0].ConsentVersion' ], 'Exceptions lists it, with the consent\'s path')
    or diag(explain($xj));
like($xj->{Exceptions}[0]{Message} // '', qr/prior version.*AllowPriorConsents/, 'and says why');
is(crm_profiles('zp%'), '1/1', 'the record not honored wrote nothing; the other its profile');
my $ta = initiate(AllowPriorConsents => JSON::PP::true);
stage($ng, $ta, [ rec('zp3', Consents => marketing('1.0')) ]);
execute($ta);
ok(completed($ta), 'an AllowPriorConsents import completes');
is_deeply([ @{ status($ta) }{qw(Processed NotHonored)}, doc_of('zp3')->{Consents}[0]{ConsentVersion} ],
          [ 1, 0, '1.0' ], 'with AllowPriorConsents the prior version is recorded');

# 4. Delete: the matched profiles deactivated; an unmatched record is refused at stage time, and
#    one whose profile no longer matches at execute time is an execute-time exception
my $t4 = initiate(ImportAction => 'Delete', MatchCriteria => 'AlternateIdType', MatchValue => 'CRMId');
$s = stage($ng, $t4, [ rec('b1'), rec('b2'), rec('nobody'), rec('b3') ]);
is_deeply([ @$s{qw(ValidationSuccessful ValidationFailed)} ], [ 3, 1 ], 'Delete: the unmatched record is refused');
psql("UPDATE prefs_profile_alternate_id SET value = 'b3-moved' WHERE account_id = :'a' AND type = 'CRMId'"
     . " AND value = 'b3'", a => $acct);
execute($t4);
ok(completed($t4), 'a Delete import completes');
is(outcomes($t4), "deleted|2\nfailed|1\ninvalid|1", 'two deleted, one failed at execute, one refused before');
$st = status($t4);
is_deeply([ @$st{qw(Processed Exceptions ValidationFailed)} ], [ 3, 1, 1 ], 'the counters say so');
my (undef, $x) = call($ng, 'GET', "Import/$t4/Exceptions");
is_deeply([ map { "$_->{Stage} $_->{Position}" } @{ $x->{Exceptions} || [] } ], [ 'Validation 2', 'Execution 3' ],
          'both listed at their positions, by stage');
like($x->{Exceptions}[1]{Message} // '', qr/No profile/, 'with the engine\'s message');
is(psql_value("SELECT count(*) FROM prefs_profile p JOIN prefs_profile_alternate_id a USING (profile_id)"
              . " WHERE a.account_id = :'a' AND a.type = 'CRMId' AND a.value IN ('b1', 'b2') AND NOT p.is_active",
              a => $acct), 2, 'the two profiles are inactive');

# exact counts across an interruption: every record applied once
sub interrupted {
    my ($name, $prefix, $n, $interrupt, %o) = @_;
    my $t = initiate();
    stage($ng, $t, [ map { rec("$prefix$_") } 1 .. $n ], 1);
    execute($t);
    ok(wait_until(sub { my $p = status($t)->{Processed} // 0; $p >= 80 }, 30), "$name: a few batches are in");
    my $p = status($t)->{Processed};
    cmp_ok($p, '<', $n, "$name: while the import is still processing ($p of $n)");
    $interrupt->();
    ok(completed($t, 60), "$name: the import completes afterwards");
    $st = status($t);
    is_deeply([ @$st{qw(Processed Pending Exceptions)} ], [ $n, 0, 0 ], "$name: its counters are exact");
    is(outcomes($t), "created|$n", "$name: every record was applied once");
    is(crm_profiles("$prefix%"), "$n/$n", "$name: one profile per record");
    is(created_events($t), $n, "$name: one profile.created event per record");
    return $t;
}

interrupted('SIGKILL', 'k', 1200, sub {
    my $helper = $ng->helper_pid;
    ok(kill('KILL', $helper), 'the helper is killed mid-execute');
    ok(wait_until(sub { my $h = $ng->helper_pid; $h && $h != $helper }, 5), 'the master starts another');
});

interrupted('reload', 'r', 1200, sub { $ng->reload });

interrupted('PostgreSQL restart', 'p', 1200, sub { pg_stop(); sleep 1; pg_start() });

# two imports of the account: the second waits for the first
my $t5 = initiate();
my $t6 = initiate();
stage($ng, $t5, [ map { rec("s$_") } 1 .. 400 ], 1);
stage($ng, $t6, [ map { rec("u$_") } 1 .. 5 ], 1);
execute($t5);
execute($t6);
ok(completed($t5, 60) && completed($t6, 60), 'two imports of one account both complete');
is(import_sql("SELECT (SELECT started_at FROM prefs_import WHERE access_token = :'t')"
              . " >= (SELECT completed_at FROM prefs_import WHERE access_token = $t5)", $t6), 't',
   'the second started once the first had completed');

# two nginx on one database: the import runs once
my $ng2 = PrefsTest::start_nginx(name => 'import-exec2', http_config => $http);
ok(wait_until(sub { $ng2->helper_pid }, 5), 'a second nginx with its helper');
my $t7 = initiate();
stage($ng2, $t7, [ map { rec("n$_") } 1 .. 600 ], 1);
execute($t7);
ok(completed($t7, 60), 'the import completes with two helpers');
is(outcomes($t7), 'created|600', 'every record applied once');
is(import_sql("SELECT count(*) FROM prefs_job_run r JOIN prefs_import i ON i.job_id = r.job_id"
              . " WHERE i.access_token = :'t' AND r.accepted", $t7), 1, 'its job completed once');
$ng2->stop;

# an import whose options the engine refuses at execute (its MatchValue type deactivated since
# staging) has Failed, with the engine's message, and is not retried
my $t11 = initiate(MatchCriteria => 'AlternateIdType', MatchValue => 'LoyaltyNumber');
stage($ng, $t11, [ rec('f1', AlternateIds => [ { Type => 'LoyaltyNumber', Value => 'L1' } ]) ]);
psql("UPDATE prefs_config_item SET is_active = false WHERE account_id = :'a' AND kind = 'AlternateIdType'"
     . " AND key = 'LoyaltyNumber'", a => $acct);
execute($t11);
ok(wait_until(sub { (status($t11)->{Status} // '') eq 'Failed' }, 30), 'the import has Failed');
like(status($t11)->{Error} // '', qr/LoyaltyNumber/, 'with the engine\'s message');
is(import_sql("SELECT j.state FROM prefs_job j JOIN prefs_import i ON i.job_id = j.job_id"
              . " WHERE i.access_token = :'t'", $t11), 'done', 'its job is over, not retried');
psql("UPDATE prefs_config_item SET is_active = true WHERE account_id = :'a' AND kind = 'AlternateIdType'"
     . " AND key = 'LoyaltyNumber'", a => $acct);

# the purge, due when the import expires: records, then the import
psql("UPDATE prefs_import SET expires = now() - interval '1 second' WHERE access_token = :'t'", t => $t1);
psql("UPDATE prefs_job SET run_at = now() WHERE job_type = 'prefs.import' AND payload ->> 'purge' = 'true'"
     . " AND (payload ->> 'import_id')::bigint = (SELECT import_id FROM prefs_import WHERE access_token = :'t')",
     t => $t1);
ok(wait_until(sub { import_sql("SELECT count(*) FROM prefs_import WHERE access_token = :'t'", $t1) == 0 }, 10),
   'the expired import is purged');
my ($code) = call($ng, 'GET', "Import/$t1/Status");
is($code, 401, 'its token is no longer valid');

# a batch past the query timeout is rolled back, and the import goes on in smaller ones:
# a statement that writes more than 150 profiles at once is made to outlast the 250 ms
# timeout (this suite runs alone), whatever the machine's speed
psql(q{CREATE OR REPLACE FUNCTION t143_slow() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF (SELECT count(*) FROM t143_new) > 150 THEN PERFORM pg_sleep(1); END IF;
             RETURN NULL; END $$});
psql("CREATE OR REPLACE TRIGGER t143_slow AFTER INSERT ON prefs_profile REFERENCING NEW TABLE AS t143_new"
     . " FOR EACH STATEMENT EXECUTE FUNCTION t143_slow()");
my $t12 = initiate();
psql("SELECT prefs_import_stage_begin(:'a', :'t')", a => $acct, t => $t12);
psql("SELECT prefs_import_stage(:'a', NULL, :'t', 1, 0, :'r', NULL)", a => $acct, t => $t12,
     r => encode_json([ map { rec("h$_") } 1 .. 300 ]));
$ng->stop;
$ng = PrefsTest::start_nginx(name => 'import-exec',
    http_config => 'prefs_job_lease 2s; prefs_helper_poll_interval 1s; prefs_import_batch 100000;'
                 . ' prefs_db_query_timeout 250ms;');
execute($t12);
ok(completed($t12, 60), 'an import whose first batches run past the query timeout completes');
is(outcomes($t12), 'created|300', 'every record applied once');
like($ng->error_log, qr/import \d+: a batch ran past the query timeout, \d+ records a batch from now on/,
     'the smaller batches are logged');
psql("DROP TRIGGER t143_slow ON prefs_profile");
psql("DROP FUNCTION t143_slow()");

my @bad = grep { /\[(alert|crit|emerg)\]/ && !/cache manager process \d+ exited on signal 9/ }
          split /\n/, $ng->error_log;
is_deeply(\@bad, [], 'nothing worse than an error was logged');

$ng->stop;
done_testing();
