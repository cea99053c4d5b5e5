#!/usr/bin/perl
# ImportAction Delete, set-based (prefs_engine_run's stage 3d): a batch's
# matched profiles deactivated in one statement give what the per-item path
# (prefs.engine_set_based = off: prefs_engine_set_active an item) gives for
# the same batch on the same data: the outcomes and messages, the rows, the
# profile.deactivated events in item order (none for a profile already
# inactive, none with SuppressEvents), the rendered copies current, a
# profile's first item's ReasonCode when two items match it, a ReasonCode
# over 256 characters refused, other profiles (and accounts) untouched.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of a migrated database (skipped
#                              when unset)

use strict;
use warnings;

use FindBin ();
use lib $FindBin::Bin;
use Test::More;

BEGIN {
    plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set'
        unless $ENV{TEST_NGINX_PREFS_DATABASE};
    $ENV{TEST_NGINX_PREFS_TOP} //= "$FindBin::Bin/..";
}

use JSON::PP ();
use PrefsTest;

my $J = JSON::PP->new->utf8->canonical;
sub acct { demo_account('delete') }

# prefs_engine_apply's rows; $per_item: every item through the per-item path
sub apply {
    my ($acct, $items, $opts, $per_item) = @_;
    my $out = psql(($per_item ? "SET prefs.engine_set_based = off;\n" : '')
        . "SELECT coalesce(json_agg(row_to_json(r) ORDER BY r.item), '[]') FROM prefs_engine_apply("
        . "CAST(:'a' AS bigint), 7, CAST(:'i' AS jsonb), CAST(:'o' AS jsonb)) r",
        a => $acct, i => $J->encode($items), o => $J->encode($opts));
    return $J->decode($out);
}

# the account's profiles by CRMId: [is_active, reason_code, copy current?, copy's IsActive and ReasonCode]
sub state {
    my ($acct) = @_;
    my %s;
    for (split /\n/, psql(q{SELECT json_build_array(a.value, x.is_active, x.reason_code,
            d.src_xmin IS NOT DISTINCT FROM x.xmin,
            (d.doc::jsonb) -> 'IsActive', (d.doc::jsonb) -> 'ReasonCode')
          FROM prefs_profile x
          JOIN prefs_profile_alternate_id a ON a.profile_id = x.profile_id AND a.type = 'CRMId'
          LEFT JOIN prefs_profile_doc d ON d.profile_id = x.profile_id
         WHERE x.account_id = CAST(:'a' AS bigint)}, a => $acct)) {
        my $r = $J->decode($_);
        $s{shift @$r} = $r;
    }
    return \%s;
}

# the account's events after $after: [type, CRMId of its profile, data]
sub events {
    my ($acct, $after) = @_;
    $J->decode(psql(q{SELECT coalesce(json_agg(json_build_array(e.event_type,
            (SELECT min(a.value) FROM prefs_profile_alternate_id a
              WHERE a.profile_id = e.profile_id AND a.type = 'CRMId'),
            e.data - 'ProfileId', e.source) ORDER BY e.event_id), '[]')
          FROM prefs_event e
         WHERE e.account_id = CAST(:'a' AS bigint) AND e.event_id > CAST(:'e' AS bigint)},
        a => $acct, e => $after));
}
sub last_event {
    psql_value("SELECT coalesce(max(event_id), 0) FROM prefs_event WHERE account_id = CAST(:'a' AS bigint)",
               a => $_[0]);
}

# six profiles, d-1 .. d-6; d-2 also has the CRMId-like LoyaltyNumber L-2,
# d-5 is inactive already
sub load {
    my ($acct) = @_;
    my @items = map { {CustomerName => {FirstName => "D$_"},
                       AlternateIds => [{Type => 'CRMId', Value => "d-$_"},
                                        {Type => 'LoyaltyNumber', Value => "L-$_"}],
                       Emails => [{EmailAddress => "d$_\@example.com",
                                   EmailPreferences => [{FilterId => 'NewsletterEmail', PreferenceType => 1}]}],
                       CustomFields => [{Name => 'FavoriteCategory', Value => 'Toys'}]} } 1 .. 6;
    my $r = apply($acct, \@items, {ImportAction => 'Add'});
    die "load failed\n" if grep { $_->{outcome} ne 'created' } @$r;
    psql(q{SELECT prefs_profile_deactivate(CAST(:'a' AS bigint), 7, CAST(:'p' AS bigint), 'earlier')},
         a => $acct, p => $r->[4]{profile_id});
    return [map { $_->{profile_id} } @$r];
}

my ($A, $B) = (acct(), acct());
my ($pa, $pb) = (load($A), load($B));
my $long = 'x' x 257;
my @batch = (
    {AlternateIds => [{Type => 'CRMId', Value => 'd-1'}], ReasonCode => 'moved'},
    {AlternateIds => [{Type => 'CRMId', Value => 'd-3'}]},
    {AlternateIds => [{Type => 'CRMId', Value => 'nobody'}]},
    {AlternateIds => [{Type => 'CRMId', Value => 'd-5'}], ReasonCode => 'again'},
    {AlternateIds => [{Type => 'CRMId', Value => 'd-4'}], ReasonCode => $long},
    {AlternateIds => [{Type => 'CRMId', Value => 'd-2'}], ReasonCode => 'first'},
    {AlternateIds => [{Type => 'CRMId', Value => 'd-2'}], ReasonCode => 'second'},
);
my ($ea, $eb) = (last_event($A), last_event($B));
my $opts = {ImportAction => 'Delete', MatchCriteria => 'CRMId', Source => 'import:149'};
my $ra = apply($A, \@batch, $opts, 1);
my $rb = apply($B, \@batch, $opts);
my $shape = sub { [map { [$_->{item}, $_->{outcome}, $_->{path}, $_->{message}, defined $_->{profile_id}] } @{$_[0]}] };
is_deeply($shape->($rb), $shape->($ra), 'the same outcomes and messages as the per-item path')
    or diag explain [$rb, $ra];
is_deeply([map { $_->{outcome} } @$rb], [qw(deleted deleted failed deleted failed deleted deleted)],
          'matched deleted; unmatched and a long ReasonCode refused');
is($rb->[4]{message}, 'ReasonCode must be at most 256 characters', "the long ReasonCode's message");
is($rb->[0]{profile_id}, $pb->[0], 'a deleted item names its profile');

my ($sa, $sb) = (state($A), state($B));
is_deeply($sb, $sa, 'the same profiles, reason codes and copies as the per-item path');
is_deeply([map { $sb->{"d-$_"}[0] } 1 .. 6], [JSON::PP::false, JSON::PP::false, JSON::PP::false, JSON::PP::true,
          JSON::PP::false, JSON::PP::true], 'd-1, d-2, d-3 deactivated; d-4 and d-6 untouched; d-5 stays inactive');
is($sb->{'d-2'}[1], 'first', "a profile matched twice: its first item's ReasonCode");
is($sb->{'d-5'}[1], 'earlier', 'an inactive profile keeps its ReasonCode');
ok(!grep({ !$sb->{$_}[2] } keys %$sb), 'every copy is current');
is_deeply([map { [$sb->{"d-$_"}[3], $sb->{"d-$_"}[4]] } 1, 3],
          [[JSON::PP::false, 'moved'], [JSON::PP::false, undef]], 'the copies show the deactivation');

my $evb = events($B, $eb);
is_deeply($evb, events($A, $ea), 'the same events as the per-item path');
is_deeply([map { [$_->[0], $_->[1], $_->[2]{ReasonCode}, $_->[3]] } @$evb],
          [['profile.deactivated', 'd-1', 'moved', 'import:149'], ['profile.deactivated', 'd-3', undef, 'import:149'],
           ['profile.deactivated', 'd-2', 'first', 'import:149']],
          'profile.deactivated in item order, none for the inactive profile');
is(psql_value(q{SELECT count(DISTINCT xmin::text) FROM prefs_profile
    WHERE profile_id = ANY (CAST(:'p' AS bigint[])) AND NOT is_active AND reason_code IS DISTINCT FROM 'earlier'},
    p => '{' . join(',', @$pb) . '}'), 1, 'set-based: one statement, no subtransaction per item');

# SuppressEvents: the same change, no event; Delete by ProfileId
$eb = last_event($B);
$rb = apply($B, [{ProfileId => 0 + $pb->[3]}, {ProfileId => 0 + $pb->[5], ReasonCode => 'quiet'}],
            {ImportAction => 'Delete', SuppressEvents => JSON::PP::true});
is_deeply([map { $_->{outcome} } @$rb], [qw(deleted deleted)], 'Delete by ProfileId');
is_deeply(events($B, $eb), [], 'SuppressEvents: no event');
$sb = state($B);
is_deeply([map { [$sb->{"d-$_"}[0], $sb->{"d-$_"}[1], $sb->{"d-$_"}[2]] } 4, 6],
          [[JSON::PP::false, undef, JSON::PP::true], [JSON::PP::false, 'quiet', JSON::PP::true]],
          'SuppressEvents: deactivated, copies current');

# another account's profile id: no match, nothing changed there
$sa = state($A);
$rb = apply($B, [{ProfileId => 0 + $pa->[3]}], {ImportAction => 'Delete'});
is($rb->[0]{message}, "No profile matches ProfileId $pa->[3]", "another account's profile: no match");
is_deeply(state($A), $sa, 'the other account is unchanged');

# validation (Stage): the items pass or fail as at execute, nothing changes
$sb = state($B);
my $v = $J->decode(psql(q{SELECT coalesce(json_agg(row_to_json(r) ORDER BY r.item), '[]') FROM prefs_engine_validate(
    CAST(:'a' AS bigint), 7, CAST(:'i' AS jsonb), CAST(:'o' AS jsonb)) r},
    a => $B, i => $J->encode([@batch[0, 2, 4]]), o => $J->encode($opts)));
is_deeply([map { [$_->{item}, $_->{message}] } @$v],
          [[1, q{No profile matches alternate id 'CRMId' 'nobody'}], [2, 'ReasonCode must be at most 256 characters']],
          'validate: the same refusals');
is_deeply(state($B), $sb, 'validate: nothing changed');

done_testing();
