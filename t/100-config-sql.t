#!/usr/bin/perl
# The configuration model in SQL (sql/functions/config.sql): prefs_config_write
# for every kind, its validation and referential checks, the generation and
# NOTIFY, prefs_config_document, prefs_config_import (conf/demo-config.json,
# round trips, all-or-nothing), and prefsctl config export/import.
#
#   TEST_NGINX_PREFS_DATABASE  conninfo of a migrated database (skipped
#                              when unset)
#
# Every test works in accounts of its own, so the file can be rerun on the
# same database.

use strict;
use warnings;
use utf8;

use FindBin ();
use lib $FindBin::Bin;
use Test::More;

BEGIN {
    plan skip_all => 'TEST_NGINX_PREFS_DATABASE is not set'
        unless $ENV{TEST_NGINX_PREFS_DATABASE};
    $ENV{TEST_NGINX_PREFS_TOP} //= "$FindBin::Bin/..";
}

use Encode ();
use File::Path qw(make_path);
use File::Temp qw(tempdir tempfile);
use JSON::PP ();
use POSIX ();
use PrefsTest;

binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $TOP  = $ENV{TEST_NGINX_PREFS_TOP};
my $J    = JSON::PP->new->utf8->canonical;
my $TMP  = tempdir('config-sql-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $DEMO = "$TOP/conf/demo-config.json";

sub enc { Encode::encode('UTF-8', $_[0]) }
sub dec { Encode::decode('UTF-8', $_[0]) }

# psql_try($sql, %vars): (exit code, stdout, the ERROR line's message),
# for statements expected to fail.
sub psql_try {
    my ($sql, %vars) = @_;
    my ($fh, $file) = tempfile(DIR => $TMP);
    print $fh $sql;
    close $fh;
    my @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
               '-d', db());
    push @cmd, '-v', "$_=$vars{$_}" for sort keys %vars;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$file.out" or POSIX::_exit(126);
        open STDERR, '>', "$file.err" or POSIX::_exit(126);
        exec @cmd, '-f', $file or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my ($out, $err) = (slurp("$file.out"), slurp("$file.err"));
    my ($msg) = $err =~ /ERROR:\s+(.*)/;
    chomp $out;
    return ($rc, $out, dec($msg // $err));
}

sub slurp {
    open my $fh, '<:raw', $_[0] or return '';
    local $/;
    return scalar(<$fh>) // '';
}

# A new account: (clientId, account_id).
sub account {
    my $client = make_account($_[0] // 'cfg');
    my $id = psql_value("SELECT account_id FROM prefs_account WHERE client_id = :'c'",
                        c => $client);
    return ($client, $id);
}

# cw($acct, $kind, $key, $body, $mode): prefs_config_write's row as a hash.
# $body: a Perl structure, a JSON text, or undef (SQL NULL).
sub cw {
    my ($acct, $kind, $key, $body, $mode) = @_;
    my $json = !defined $body ? '' : ref $body ? $J->encode($body) : enc($body);
    my $out = psql(q{
SELECT json_build_object('outcome', outcome, 'item_key', item_key,
                         'message', message)
  FROM prefs_config_write(CAST(:'acct' AS bigint), :'kind',
                          CASE WHEN :'hk' = '1' THEN CAST(:'key' AS text) END,
                          CAST(NULLIF(:'body', '') AS jsonb),
                          :'mode')},
        acct => $acct, kind => $kind, key => enc($key // ''),
        hk => defined $key ? 1 : 0, body => $json,
        mode => $mode);
    return $J->decode($out);
}

sub create  { cw($_[0], $_[1], undef, $_[2], 'create') }
sub replace { cw($_[0], $_[1], $_[2], $_[3], 'replace') }
sub deact   { cw($_[0], $_[1], $_[2], undef, 'deactivate') }

sub document {
    my ($acct, $inactive) = @_;
    return $J->decode(psql("SELECT prefs_config_document(CAST(:'a' AS bigint), CAST(:'i' AS boolean))",
                           a => $acct, i => $inactive ? 'true' : 'false'));
}

sub generation {
    psql_value("SELECT prefs_config_generation(CAST(:'a' AS bigint))", a => $_[0]);
}

sub item {   # the stored row: {body, is_active} or undef
    my ($acct, $kind, $key) = @_;
    my $out = psql(q{
SELECT json_build_object('body', body, 'is_active', is_active)
  FROM prefs_config_item
 WHERE account_id = CAST(:'a' AS bigint) AND kind = :'k' AND key = :'key'},
        a => $acct, k => $kind, key => enc($key));
    return length $out ? $J->decode($out) : undef;
}

sub item_count {
    psql_value("SELECT count(*) FROM prefs_config_item WHERE account_id = CAST(:'a' AS bigint)",
               a => $_[0]);
}

sub import_doc {   # (rc, summary or undef, error message)
    my ($acct, $doc) = @_;
    my ($rc, $out, $err) = psql_try(
        "SELECT prefs_config_import(CAST(:'a' AS bigint), CAST(:'d' AS jsonb))",
        a => $acct, d => ref $doc ? $J->encode($doc) : $doc);
    return ($rc, $rc == 0 ? $J->decode($out) : undef, $err);
}

sub read_json_file {
    open my $fh, '<:raw', $_[0] or die "$_[0]: $!";
    local $/;
    return $J->decode(scalar <$fh>);
}

sub collection {   # a document's items of a kind
    my ($doc, $kind) = @_;
    my %path = (Locale => ['Locales'], ProgramType => ['ProgramTypes'],
        Program => ['Programs'], ProgramGroup => ['ProgramGroups'],
        Filter => ['Filters'], ConsentType => ['ConsentTypes'],
        EmailType => ['ContactTypes', 'Email'], PhoneType => ['ContactTypes', 'Phone'],
        AddressType => ['ContactTypes', 'Address'],
        AlternateIdType => ['AlternateIdTypes'], CustomerType => ['CustomerTypes'],
        GroupType => ['GroupTypes'], CustomField => ['CustomFields'], Tag => ['Tags']);
    my $v = $doc;
    $v = $v->{$_} for @{ $path{$kind} };
    return @$v;
}

my @KINDS = qw(Locale ProgramType Program ProgramGroup Filter ConsentType EmailType PhoneType
               AddressType AlternateIdType CustomerType GroupType CustomField Tag);
my %KEY = (Locale => 'LocaleId', ProgramType => 'ProgramTypeId',
    Program => 'ProgramId', ProgramGroup => 'ProgramGroupId', Filter => 'FilterId',
    ConsentType => 'TypeName');
sub key_field { $KEY{ $_[0] } // 'Name' }

sub find_item {
    my ($doc, $kind, $key) = @_;
    my ($it) = grep { $_->{ key_field($kind) } eq $key } collection($doc, $kind);
    return $it;
}

# A base configuration: locales en-US (default) and de-DE, program type PT,
# program P1, consent type Marketing, filter F1.
sub base_config {
    my ($acct) = @_;
    my @w = (
        [Locale => { LocaleId => 'en-US', Name => 'English', IsDefault => JSON::PP::true }],
        [Locale => { LocaleId => 'de-DE', Name => 'Deutsch' }],
        [ProgramType => { ProgramTypeId => 'PT', Name => 'Marketing' }],
        [Program => { ProgramId => 'P1', ProgramTypeId => 'PT', Name => 'Newsletters' }],
        [ConsentType => { TypeName => 'Marketing',
            Versions => [{ ConsentVersion => '1.0',
                LocalizedFields => [{ Locale => 'en-US', Name => 'Marketing' }] }] }],
        [Filter => { FilterId => 'F1', ProgramId => 'P1', ChannelId => 'Email',
            Name => 'Weekly news',
            RequiredPreferenceConsents => [{ TypeName => 'Marketing' }] }],
    );
    for (@w) {
        my $r = create($acct, @$_);
        die "base_config: $_->[0]: $r->{outcome} " . ($r->{message} // '') . "\n"
            unless $r->{outcome} eq 'created';
    }
}

# is_subset($want, $got): every field of $want is in $got with the same
# value (objects recursively; arrays element by element).
sub is_subset {
    my ($want, $got, $path) = @_;
    $path //= '';
    if (ref $want eq 'HASH') {
        return "$path: not an object" unless ref $got eq 'HASH';
        for my $k (keys %$want) {
            return "$path.$k: missing" unless exists $got->{$k};
            my $e = is_subset($want->{$k}, $got->{$k}, "$path.$k");
            return $e if $e;
        }
        return '';
    }
    if (ref $want eq 'ARRAY') {
        return "$path: not an array" unless ref $got eq 'ARRAY';
        return "$path: " . @$got . " elements, want " . @$want if @$got != @$want;
        for my $i (0 .. $#$want) {
            my $e = is_subset($want->[$i], $got->[$i], "$path\[$i]");
            return $e if $e;
        }
        return '';
    }
    return '' if !defined $want && !defined $got;
    return "$path: got " . ($got // 'null') . ", want " . ($want // 'null')
        if !defined $want || !defined $got || "$want" ne "$got";
    return '';
}


# --------------------------------------------------------------------------
subtest 'every kind: created, updated, deactivated, reactivated' => sub {
    my (undef, $ac) = account();
    base_config($ac);

    my @kinds = (
        [Locale => 'fr-FR', { LocaleId => 'fr-FR', Name => 'Français' }, { Name => 'Français (France)' }],
        [ProgramType => 'PT2', { ProgramTypeId => 'PT2', Name => 'Service' }, { Description => 'changed' }],
        [Program => 'P2', { ProgramId => 'P2', ProgramTypeId => 'PT', Name => 'Offers' }, { Description => 'changed' }],
        [ProgramGroup => 'G2', { ProgramGroupId => 'G2', Name => 'All', ProgramIds => ['P1'] }, { Description => 'changed' }],
        [Filter => 'F2', { FilterId => 'F2', ProgramId => 'P1', ChannelId => 'Text', Name => 'Texts' }, { Description => 'changed' }],
        [ConsentType => 'DataSharing', { TypeName => 'DataSharing', Versions => [{ ConsentVersion => '1' }] }, { ChannelId => 'Email' }],
        [EmailType => 'Personal', { Name => 'Personal' }, { Description => 'changed' }],
        [PhoneType => 'Mobile', { Name => 'Mobile' }, { Description => 'changed' }],
        [AddressType => 'Home', { Name => 'Home' }, { Description => 'changed' }],
        [AlternateIdType => 'CRMId', { Name => 'CRMId' }, { Description => 'changed' }],
        [CustomerType => 'Consumer', { Name => 'Consumer' }, { Description => 'changed' }],
        [GroupType => 'Household', { Name => 'Household' }, { Description => 'changed' }],
        [CustomField => 'Shoe Size', { Name => 'Shoe Size', DataType => 'Number' }, { IsRequired => JSON::PP::true }],
        [Tag => 'VIP', { Name => 'VIP' }, { Description => 'changed' }],
    );
    for my $k (@kinds) {
        my ($kind, $key, $body, $change) = @$k;
        my $kf = key_field($kind);
        my $g = generation($ac);

        my $r = create($ac, $kind, $body);
        is_deeply($r, { outcome => 'created', item_key => $key, message => undef }, "$kind: created");
        ok(generation($ac) > $g, "$kind: the generation moved");
        my $it = find_item(document($ac), $kind, $key);
        ok($it && $it->{IsActive}, "$kind: in the document, active");

        $r = create($ac, $kind, $body);
        is($r->{outcome}, 'exists', "$kind: created twice: exists");
        like($r->{message}, qr/\Q$kf\E '\Q$key\E' already exists/, "$kind: exists message");

        # PUT: the key from the path; the body may omit it
        my %new = (%$body, %$change);
        delete $new{$kf};
        $r = replace($ac, $kind, $key, \%new);
        is($r->{outcome}, 'updated', "$kind: replaced") or diag explain $r;
        my $stored = item($ac, $kind, $key)->{body};
        is($stored->{$kf}, $key, "$kind: the key field is filled in");
        is_deeply({ map { $_ => $stored->{$_} } keys %$change }, $change, "$kind: the change is stored");

        $g = generation($ac);
        $r = deact($ac, $kind, $key);
        is($r->{outcome}, 'deactivated', "$kind: deactivated");
        my $row = item($ac, $kind, $key);
        ok(!$row->{is_active} && !$row->{body}{IsActive}, "$kind: inactive row and body");
        ok(!find_item(document($ac), $kind, $key), "$kind: not in the active document");
        ok(find_item(document($ac, 1), $kind, $key), "$kind: in the document with inactive items");
        my $g2 = generation($ac);
        ok($g2 > $g, "$kind: deactivation moved the generation");
        is(deact($ac, $kind, $key)->{outcome}, 'deactivated', "$kind: deactivated again");
        is(generation($ac), $g2, "$kind: ... without a change");

        $r = create($ac, $kind, $body);
        is($r->{outcome}, 'created', "$kind: created over the inactive item");
        $row = item($ac, $kind, $key);
        ok($row->{is_active} && $row->{body}{IsActive}, "$kind: active again");
        is_deeply({ map { $_ => $row->{body}{$_} } keys %$change },
                  { map { $_ => find_item(document($ac), $kind, $key)->{$_} } keys %$change },
                  "$kind: the new body replaced the old one");

        is(replace($ac, $kind, 'Nope-404', { %$body, $kf => 'Nope-404' })->{outcome}, 'not_found',
           "$kind: replace of a missing key");
        is(deact($ac, $kind, 'Nope-404')->{outcome}, 'not_found', "$kind: deactivate of a missing key");
    }
};


# --------------------------------------------------------------------------
subtest 'normalized bodies: defaults filled in, canonical spelling' => sub {
    my (undef, $ac) = account();
    base_config($ac);

    is(create($ac, Program => { ProgramId => 'P2', Name => 'Bare' })->{outcome}, 'created', 'a bare program');
    is_deeply(item($ac, Program => 'P2')->{body}, {
        ProgramId => 'P2', ProgramTypeId => undef, Name => 'Bare', Description => '',
        DisplayOrder => 0, CustomProperties => [], Locales => [], IsActive => JSON::PP::true,
    }, 'every field present');

    is(create($ac, Filter => { FilterId => 'F2', ProgramId => 'P1', ChannelId => 'email',
        Name => 'F', DisplayOrder => 2.0, DefaultLocaleId => '',
        FrequencyLocales => [{ LocaleId => 'en_us', Frequencies => [{ FrequencyId => 'W', DisplayName => 'Weekly' }] }] })->{outcome},
       'created', 'a filter with loose spellings');
    my $f = item($ac, Filter => 'F2')->{body};
    is($f->{ChannelId}, 'Email', 'ChannelId in its canonical case');
    is($f->{DisplayOrder}, 2, '2.0 is 2');
    is($f->{DefaultLocaleId}, undef, '"" is no DefaultLocaleId');
    is($f->{FrequencyLocales}[0]{LocaleId}, 'en-US', 'en_us is en-US');
    is_deeply($f->{FrequencyLocales}[0]{Frequencies}[0],
              { FrequencyId => 'W', DisplayName => 'Weekly', Description => '',
                IsDefault => JSON::PP::false, DisplayOrder => 0 }, 'a frequency filled in');
    is($f->{DefaultPreferenceValue}, 0, 'DefaultPreferenceValue 0');
    ok(exists $f->{OptInCustomerExpirationDays} && !defined $f->{OptInCustomerExpirationDays},
       'expiration days null');
    is_deeply([ map { $f->{$_} } qw(CustomProperties Locales PreferenceAttributes RequiredPreferenceConsents) ],
              [[], [], [], []], 'arrays empty');

    is(create($ac, ConsentType => { TypeName => 'T', Versions => [{ ConsentVersion => 'v1' }] })->{outcome},
       'created', 'a bare consent type');
    is_deeply(item($ac, ConsentType => 'T')->{body}, {
        TypeName => 'T', ChannelId => undef, IsActive => JSON::PP::true,
        Versions => [{ ConsentVersion => 'v1', ExpirationInDays => undef, IsActive => JSON::PP::true,
                       IsAssociatedWithProfiles => JSON::PP::false, LocalizedFields => [] }],
    }, 'consent type filled in');

    my $r = create($ac, Locale => { LocaleId => 'zh_hant_tw', Name => '中文' });
    is($r->{item_key}, 'zh-Hant-TW', 'a locale id in canonical form');
};


# --------------------------------------------------------------------------
subtest 'validation: the message names the field, nothing is written' => sub {
    my (undef, $ac) = account();
    base_config($ac);
    my $g = generation($ac);
    my $n = item_count($ac);

    my $fl = sub {   # a filter with these FrequencyLocales
        { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X', FrequencyLocales => $_[0] }
    };
    my $W = { FrequencyId => 'W', DisplayName => 'Weekly' };
    my $M = { FrequencyId => 'M', DisplayName => 'Monthly' };
    my $prog = sub { { ProgramId => 'PX', Name => 'X', %{ $_[0] // {} } } };
    my $ct = sub { { TypeName => 'CX', Versions => [{ ConsentVersion => '1', %{ $_[0] // {} } }] } };
    my $cf = sub { { Name => 'CF', %{ $_[0] } } };

    my @cases = (
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [$W, { %$M, IsDefault => 'yes' }] }]),
            qr/^Filters: FrequencyLocales\[0\]\.Frequencies\[1\]\.IsDefault must be true or false$/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [{ %$W, IsDefault => JSON::PP::true }, { %$M, IsDefault => JSON::PP::true }] }]),
            qr/^Filters: FrequencyLocales\[0\]\.Frequencies\[1\]\.IsDefault must be false: FrequencyLocales\[0\]\.Frequencies\[0\] is already the default/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [$W, $M] }, { LocaleId => 'de-DE', Frequencies => [$W] }]),
            qr/^Filters: FrequencyLocales\[1\]\.Frequencies must have the same FrequencyIds as FrequencyLocales\[0\] \(M, W\), not \(W\)$/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [$W, $W] }]),
            qr/^Filters: FrequencyLocales\[0\]\.Frequencies\[1\]\.FrequencyId 'W' appears more than once$/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [$W] }, { LocaleId => 'en-US', Frequencies => [$W] }]),
            qr/^Filters: FrequencyLocales\[1\]\.LocaleId 'en-US' appears more than once$/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [{ FrequencyId => 'W' }] }]),
            qr/^Filters: FrequencyLocales\[0\]\.Frequencies\[0\]\.DisplayName is required$/],
        [Filter => $fl->([{ LocaleId => 'en-US', Frequencies => [{ %$W, FrequencyId => 'X' x 21 }] }]),
            qr/^Filters: FrequencyLocales\[0\]\.Frequencies\[0\]\.FrequencyId must be 1 to 20 characters/],
        [Filter => { FilterId => 'FX', ChannelId => 'Email', Name => 'X' }, qr/^Filters: ProgramId is required$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', Name => 'X' }, qr/^Filters: ChannelId is required$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Pigeon', Name => 'X' },
            qr/^Filters: ChannelId must be one of Email, Phone, Text, Fax, Mail$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X', DefaultPreferenceValue => 3 },
            qr/^Filters: DefaultPreferenceValue must be 0 \(none\), 1 \(opt-in\) or 2 \(opt-out\)$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X', OptInCustomerExpirationDays => -1 },
            qr/^Filters: OptInCustomerExpirationDays must be an integer from 0 to 36500 or null$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X', OptOutNonCustomerExpirationDays => '30' },
            qr/^Filters: OptOutNonCustomerExpirationDays must be an integer/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X',
                     PreferenceAttributes => [{ AttributeId => 'a' }, { AttributeId => 'a' }] },
            qr/^Filters: PreferenceAttributes\[1\]\.AttributeId 'a' appears more than once$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X',
                     PreferenceAttributes => [{ AttributeId => 'a', IsRequired => 1 }] },
            qr/^Filters: PreferenceAttributes\[0\]\.IsRequired must be true or false$/],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X',
                     RequiredPreferenceConsents => [{ DisplayOrder => 1 }] },
            qr/^Filters: RequiredPreferenceConsents\[0\]\.TypeName is required$/],
        [Program => $prog->({ Foo => 1 }), qr/^Programs: Foo is not a known field$/],
        [Program => { programId => 'PX', Name => 'X' },
            qr/^Programs: programId is not a known field \(field names are case-sensitive: ProgramId\)$/],
        [Program => { Name => 'X' }, qr/^Programs: ProgramId is required$/],
        [Program => $prog->({ ProgramId => 'a b' }), qr/^Programs: ProgramId must be 1 to 50 characters of A-Z, a-z, 0-9/],
        [Program => $prog->({ ProgramId => 'p' x 51 }), qr/^Programs: ProgramId must be 1 to 50 characters/],
        [Program => $prog->({ Name => 'n' x 101 }), qr/^Programs: Name must be at most 100 characters$/],
        [Program => $prog->({ Name => ' ' }), qr/^Programs: Name must not be empty$/],
        [Program => $prog->({ Name => 5 }), qr/^Programs: Name must be a string$/],
        [Program => $prog->({ Description => 'd' x 1001 }), qr/^Programs: Description must be at most 1000 characters$/],
        [Program => $prog->({ DisplayOrder => 1.5 }), qr/^Programs: DisplayOrder must be an integer/],
        [Program => $prog->({ DisplayOrder => '1' }), qr/^Programs: DisplayOrder must be an integer/],
        [Program => $prog->({ IsActive => 'true' }), qr/^Programs: IsActive must be true or false$/],
        [Program => $prog->({ CustomProperties => {} }), qr/^Programs: CustomProperties must be an array$/],
        [Program => $prog->({ CustomProperties => [{ Key => 'k', Value => 'a' }, { Key => 'k', Value => 'b' }] }),
            qr/^Programs: CustomProperties\[1\]\.Key 'k' appears more than once$/],
        [Program => $prog->({ Locales => [{ LocaleId => 'en-US', DisplayTags => [{ Key => 'Label', Lang => 'x' }] }] }),
            qr/^Programs: Locales\[0\]\.DisplayTags\[0\]\.Lang is not a known field$/],
        [Program => $prog->({ Locales => [{ LocaleId => 'en-US', DisplayTags => [{ Key => 'Label', Value => 'v' x 4001 }] }] }),
            qr/^Programs: Locales\[0\]\.DisplayTags\[0\]\.Value must be at most 4000 characters$/],
        [Program => $prog->({ Locales => [{ LocaleId => 'english' }] }),
            qr/^Programs: Locales\[0\]\.LocaleId must be a locale id such as en-US/],
        [Program => $prog->({ Locales => [{ LocaleId => 'en-US' }, { LocaleId => 'en_US' }] }),
            qr/^Programs: Locales\[1\]\.LocaleId 'en-US' appears more than once$/],
        [Program => $prog->({ Locales => ['en-US'] }), qr/^Programs: Locales\[0\] must be a JSON object$/],
        [Program => '[]', qr/^Programs: the body must be a JSON object$/],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', ProgramIds => [5] },
            qr/^ProgramGroups: ProgramIds\[0\] must be a ProgramId/],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', ProgramIds => ['P1', 'P1'] },
            qr/^ProgramGroups: ProgramIds\[1\] 'P1' appears more than once$/],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', ParentProgramGroupId => 'GX' },
            qr/^ProgramGroups: ParentProgramGroupId must not be the group itself$/],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', DefaultPreferenceValues => [{ FilterId => 'F1', PreferenceValue => 0 }] },
            qr/^ProgramGroups: DefaultPreferenceValues\[0\]\.PreferenceValue must be 1 \(opt-in\) or 2 \(opt-out\)$/],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', DefaultPreferenceValues => [{ FilterId => 'F1' }] },
            qr/^ProgramGroups: DefaultPreferenceValues\[0\]\.PreferenceValue is required$/],
        [ConsentType => { TypeName => 'CX', Versions => [] }, qr/^ConsentTypes: Versions must have at least one version$/],
        [ConsentType => { TypeName => 'CX' }, qr/^ConsentTypes: Versions must have at least one version$/],
        [ConsentType => { TypeName => 'CX', Versions => [{ ConsentVersion => '1.0' }, { ConsentVersion => '1.0' }] },
            qr/^ConsentTypes: Versions\[1\]\.ConsentVersion '1\.0' appears more than once$/],
        [ConsentType => $ct->({ ExpirationInDays => '30' }),
            qr/^ConsentTypes: Versions\[0\]\.ExpirationInDays must be an integer from 0 to 36500 or null$/],
        [ConsentType => $ct->({ LocalizedFields => [{ Locale => 'en-US', Name => 'N', ConsentLanguage => 'c' x 20001 }] }),
            qr/^ConsentTypes: Versions\[0\]\.LocalizedFields\[0\]\.ConsentLanguage must be at most 20000 characters$/],
        [ConsentType => $ct->({ LocalizedFields => [{ LocaleId => 'en-US', Name => 'N' }] }),
            qr/^ConsentTypes: Versions\[0\]\.LocalizedFields\[0\]\.LocaleId is not a known field$/],
        [ConsentType => { TypeName => 'CX', ChannelId => 'Web', Versions => [{ ConsentVersion => '1' }] },
            qr/^ConsentTypes: ChannelId must be one of Email, Phone, Text, Fax, Mail$/],
        [CustomField => $cf->({ DataType => 'List' }),
            qr/^CustomFields: AllowedValues must list at least one value when DataType is List$/],
        [CustomField => $cf->({ DataType => 'String', AllowedValues => ['a'] }),
            qr/^CustomFields: AllowedValues must be empty unless DataType is List$/],
        [CustomField => $cf->({ DataType => 'List', AllowedValues => ['a', 'a'] }),
            qr/^CustomFields: AllowedValues\[1\] 'a' appears more than once$/],
        [CustomField => $cf->({ DataType => 'List', AllowedValues => [1] }),
            qr/^CustomFields: AllowedValues\[0\] must be a string$/],
        [CustomField => $cf->({ DataType => 'Text' }),
            qr/^CustomFields: DataType must be one of String, Number, Boolean, Date, DateTime, List$/],
        [CustomField => $cf->({}), qr/^CustomFields: DataType is required$/],
        [CustomField => $cf->({ DataType => 'Date', Labels => [{ LocaleId => 'en-US' }] }),
            qr/^CustomFields: Labels\[0\]\.Label is required$/],
        [Tag => { Name => 'a/b' }, qr/^Tags: Name must be 1 to 100 characters without "\/"/],
        [Tag => { Name => ' padded' }, qr/^Tags: Name must be 1 to 100 characters/],
        [Tag => { Name => 'VIP', Colour => 'gold' }, qr/^Tags: Colour is not a known field$/],
        [EmailType => { Name => 'x' x 101 }, qr/^ContactTypes\.Email: Name must be 1 to 100 characters/],
        [AlternateIdType => {}, qr/^AlternateIdTypes: Name is required$/],
        [Locale => { LocaleId => 'it-IT', Name => 'Italiano', IsDefault => JSON::PP::true, IsActive => JSON::PP::false },
            qr/^Locales: IsDefault must be false for an inactive locale$/],
        [Locale => { LocaleId => 'it-IT' }, qr/^Locales: Name is required$/],
        [Locale => { LocaleId => 'it_IT_x', Name => 'x' }, qr/^Locales: LocaleId must be a locale id/],
    );
    for my $c (@cases) {
        my ($kind, $body, $re) = @$c;
        my $r = create($ac, $kind, $body);
        my $what = "$kind: " . (ref $re ? "$re" : $re);
        is($r->{outcome}, 'invalid', "invalid: $what") or diag explain $r;
        like($r->{message} // '', $re, "message: $what");
    }

    my $r = replace($ac, Program => 'P1', { ProgramId => 'P9', Name => 'X' });
    is($r->{outcome}, 'invalid', 'PUT with another key in the body');
    is($r->{message}, q{Programs: ProgramId 'P9' differs from the ProgramId of the path ('P1')}, '... says so');
    is(replace($ac, Program => 'P1', { ProgramId => 'P1', Name => 'Newsletters' })->{outcome}, 'updated',
       'PUT with the same key in the body');
    is(item($ac, Program => 'P1')->{body}{ProgramTypeId}, undef, 'PUT replaces the whole body');
    is(replace($ac, Program => 'P1', { ProgramTypeId => 'PT', Name => 'Newsletters' })->{outcome}, 'updated',
       '(restored)');

    $r = create($ac, Tag => { Name => "tab\there" });
    like($r->{message}, qr/^Tags: Name must be/, 'control characters in a name');
    $r = create($ac, Tag => { Name => 'x', "bad\nkey" => 1 });
    is($r->{message}, 'Tags: bad?key is not a known field', 'control characters never reach a message');

    is(item_count($ac), $n, 'nothing was written');
    # the two PUTs of P1 moved it, nothing else
    is(generation($ac), $g + 2, 'the generation moved only for the valid writes');
};


# --------------------------------------------------------------------------
subtest 'references' => sub {
    my (undef, $ac) = account();
    base_config($ac);
    my $n = item_count($ac);

    my @cases = (
        [Program => { ProgramId => 'PX', ProgramTypeId => 'Nope', Name => 'X' },
            q{Programs: ProgramTypeId 'Nope' is not an active program type}],
        [Program => { ProgramId => 'PX', Name => 'X', Locales => [{ LocaleId => 'it-IT' }] },
            q{Programs: Locales[0].LocaleId 'it-IT' is not an active locale}],
        [Filter => { FilterId => 'FX', ProgramId => 'Nope', ChannelId => 'Email', Name => 'X' },
            q{Filters: ProgramId 'Nope' is not an active program}],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X', DefaultLocaleId => 'es-ES' },
            q{Filters: DefaultLocaleId 'es-ES' is not an active locale}],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X',
                     FrequencyLocales => [{ LocaleId => 'en-US' }, { LocaleId => 'fr-FR' }] },
            q{Filters: FrequencyLocales[1].LocaleId 'fr-FR' is not an active locale}],
        [Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Email', Name => 'X',
                     RequiredPreferenceConsents => [{ TypeName => 'Marketing' }, { TypeName => 'Nope' }] },
            q{Filters: RequiredPreferenceConsents[1].TypeName 'Nope' is not an active consent type}],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', ProgramIds => ['P1', 'Nope'] },
            q{ProgramGroups: ProgramIds[1] 'Nope' is not an active program}],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', DefaultPreferenceValues => [{ FilterId => 'Nope', PreferenceValue => 1 }] },
            q{ProgramGroups: DefaultPreferenceValues[0].FilterId 'Nope' is not an active filter}],
        [ProgramGroup => { ProgramGroupId => 'GX', Name => 'G', ParentProgramGroupId => 'Nope' },
            q{ProgramGroups: ParentProgramGroupId 'Nope' is not an active program group}],
        [ConsentType => { TypeName => 'CX', Versions => [{ ConsentVersion => '1',
                          LocalizedFields => [{ Locale => 'en-US', Name => 'a' }, { Locale => 'ja-JP', Name => 'b' }] }] },
            q{ConsentTypes: Versions[0].LocalizedFields[1].Locale 'ja-JP' is not an active locale}],
        [CustomField => { Name => 'CF', DataType => 'Boolean', Labels => [{ LocaleId => 'nl-NL', Label => 'x' }] },
            q{CustomFields: Labels[0].LocaleId 'nl-NL' is not an active locale}],
    );
    for my $c (@cases) {
        my ($kind, $body, $msg) = @$c;
        my $r = create($ac, $kind, $body);
        is($r->{outcome}, 'invalid', "invalid: $msg");
        is($r->{message}, $msg, "message: $msg");
    }
    is(item_count($ac), $n, 'nothing was written');

    # inactive items are not referable
    is(create($ac, Program => { ProgramId => 'Old', Name => 'Old' })->{outcome}, 'created', 'program Old');
    is(deact($ac, Program => 'Old')->{outcome}, 'deactivated', '... deactivated');
    is(create($ac, Filter => { FilterId => 'FX', ProgramId => 'Old', ChannelId => 'Mail', Name => 'X' })->{message},
       q{Filters: ProgramId 'Old' is not an active program}, 'a filter of an inactive program');
    is(create($ac, ConsentType => { TypeName => 'Gone', Versions => [{ ConsentVersion => '1' }], IsActive => JSON::PP::false })->{outcome},
       'created', 'an inactive consent type');
    is(create($ac, Filter => { FilterId => 'FX', ProgramId => 'P1', ChannelId => 'Mail', Name => 'X',
                              RequiredPreferenceConsents => [{ TypeName => 'Gone' }] })->{message},
       q{Filters: RequiredPreferenceConsents[0].TypeName 'Gone' is not an active consent type},
       'a required consent of an inactive type');

    # deactivating what others use is allowed; their next write must fix it
    is(deact($ac, Program => 'P1')->{outcome}, 'deactivated', 'deactivate P1, used by F1');
    ok(item($ac, Filter => 'F1')->{is_active}, 'F1 stays active');
    is(replace($ac, Filter => 'F1', { ProgramId => 'P1', ChannelId => 'Email', Name => 'Renamed' })->{message},
       q{Filters: ProgramId 'P1' is not an active program}, 'F1 cannot be rewritten with P1 inactive');
    is(create($ac, Program => { ProgramId => 'P1', ProgramTypeId => 'PT', Name => 'Newsletters' })->{outcome},
       'created', 'P1 back');

    # cycles of program groups
    is(create($ac, ProgramGroup => { ProgramGroupId => 'A', Name => 'A' })->{outcome}, 'created', 'group A');
    is(create($ac, ProgramGroup => { ProgramGroupId => 'B', Name => 'B', ParentProgramGroupId => 'A' })->{outcome}, 'created', 'group B in A');
    is(create($ac, ProgramGroup => { ProgramGroupId => 'C', Name => 'C', ParentProgramGroupId => 'B' })->{outcome}, 'created', 'group C in B');
    my $g = generation($ac);
    my $r = replace($ac, ProgramGroup => 'A', { Name => 'A', ParentProgramGroupId => 'C' });
    is($r->{outcome}, 'invalid', 'A in C: a cycle');
    is($r->{message}, q{ProgramGroups: ParentProgramGroupId 'C' would make the group its own ancestor}, '... named');
    is(item($ac, ProgramGroup => 'A')->{body}{ParentProgramGroupId}, undef, 'A unchanged');
    is(generation($ac), $g, 'the generation did not move');

    # the channel of a required consent type is fixed
    $r = replace($ac, ConsentType => 'Marketing', { ChannelId => 'Text', Versions => [{ ConsentVersion => '1.0' }] });
    is($r->{message}, q{ConsentTypes: ChannelId cannot change: filter 'F1' requires this consent type},
       'the ChannelId of a required consent type');
    is(replace($ac, ConsentType => 'Marketing', { Versions => [{ ConsentVersion => '1.0' }, { ConsentVersion => '2.0' }] })->{outcome},
       'updated', 'other changes are fine');
};


# --------------------------------------------------------------------------
subtest 'locales: one active default' => sub {
    my (undef, $ac) = account();
    is(document($ac)->{DefaultLocale}, undef, 'no locale: no default');
    my $r = create($ac, Locale => { LocaleId => 'en-US', Name => 'English' });
    ok(item($ac, Locale => 'en-US')->{body}{IsDefault}, 'the first locale becomes the default');
    is(document($ac)->{DefaultLocale}, 'en-US', 'DefaultLocale');
    create($ac, Locale => { LocaleId => 'de-DE', Name => 'Deutsch' });
    ok(!item($ac, Locale => 'de-DE')->{body}{IsDefault}, 'the second does not');
    is_deeply(replace($ac, Locale => 'en_us', { Name => 'English (US)' }), { outcome => 'updated',
              item_key => 'en-US', message => undef }, 'PUT without IsDefault, the path key canonicalized');
    ok(item($ac, Locale => 'en-US')->{body}{IsDefault}, '... keeps the default');

    $r = replace($ac, Locale => 'en-US', { Name => 'English', IsDefault => JSON::PP::false });
    is($r->{message}, 'Locales: IsDefault must be true: no other active locale is the default', 'no default left');
    $r = deact($ac, Locale => 'en-US');
    is($r->{outcome}, 'invalid', 'the default cannot be deactivated');
    is($r->{message}, q{Locales: 'en-US' is the default locale: make another locale the default before deactivating it}, '... says why');
    $r = replace($ac, Locale => 'en-US', { Name => 'English', IsActive => JSON::PP::false });
    is($r->{message}, q{Locales: IsActive cannot be false: 'en-US' is the default locale; make another locale the default first},
       '... nor PUT inactive');

    is(create($ac, Locale => { LocaleId => 'fr-FR', Name => 'Français', IsDefault => JSON::PP::true })->{outcome}, 'created',
       'a new default');
    is(document($ac)->{DefaultLocale}, 'fr-FR', 'DefaultLocale moved');
    ok(!item($ac, Locale => 'en-US')->{body}{IsDefault}, 'the old default is no longer');
    is(deact($ac, Locale => 'en-US')->{outcome}, 'deactivated', 'now en-US can go');
    is(deact($ac, Locale => 'de-DE')->{outcome}, 'deactivated', 'and de-DE');
    is(deact($ac, Locale => 'fr-FR')->{outcome}, 'deactivated', 'the last active locale can go, default or not');
    is(document($ac)->{DefaultLocale}, undef, 'no default');
    is(create($ac, Locale => { LocaleId => 'de-DE', Name => 'Deutsch' })->{outcome}, 'created', 'de-DE back');
    is(document($ac)->{DefaultLocale}, 'de-DE', '... as the default');
};


# --------------------------------------------------------------------------
subtest 'generation and NOTIFY' => sub {
    my (undef, $ac) = account();
    is(generation($ac), 0, 'a new account: generation 0');
    is(document($ac)->{Generation}, 0, '... in the document too');
    base_config($ac);
    my $g = generation($ac);
    ok($g >= 6, "six items: generation $g");
    is(document($ac)->{Generation}, $g, 'the document carries it');

    my $out = psql(q{
LISTEN prefs_config;
SELECT outcome FROM prefs_config_write(CAST(:'a' AS bigint), 'Tag', NULL, '{"Name": "Notified"}', 'create');
SELECT 'after-valid';
SELECT outcome FROM prefs_config_write(CAST(:'a' AS bigint), 'Tag', NULL, '{"Name": "Bad", "X": 1}', 'create');
SELECT 'after-invalid';
SELECT outcome FROM prefs_config_write(CAST(:'a' AS bigint), 'Tag', NULL, '{"Name": "Notified"}', 'create');
SELECT 'after-exists';
}, a => $ac);
    like($out, qr/^created\nAsynchronous notification "prefs_config" with payload "$ac" received/m,
         'a write notifies prefs_config with the account id');
    unlike($out, qr/after-valid\n[^\n]*\nAsynchronous/, 'an invalid write does not');
    unlike($out, qr/after-invalid\n[^\n]*\nAsynchronous/, 'nor does an existing key');
    is(generation($ac), $g + 1, 'one bump for one write');

    # another session sees the notification when the writer commits
    my $listener = "$TMP/listen.out";
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', $listener or POSIX::_exit(1);
        open STDERR, '>&', \*STDOUT;
        # one transaction each: LISTEN takes effect when it commits
        exec 'psql', '-X', '-q', '-At', '-d', db(), '-c', 'LISTEN prefs_config',
             '-c', 'SELECT pg_sleep(2.013)', '-c', "SELECT 'done'"
             or POSIX::_exit(127);
    }
    ok(wait_until(sub { psql_value(q{SELECT count(*) FROM pg_stat_activity
        WHERE query = 'SELECT pg_sleep(2.013)' AND state = 'active'}) }, 10),
       'a listener is waiting');
    create($ac, Tag => { Name => 'Elsewhere' });
    waitpid $pid, 0;
    like(slurp($listener), qr/Asynchronous notification "prefs_config" with payload "$ac"/,
         'a LISTENing session is told');

    # an import: one generation, however many items
    my ($rc, $sum) = import_doc($ac, { Locales => [{ LocaleId => 'en-US', Name => 'English', IsDefault => JSON::PP::true }] });
    is($rc, 0, 'an import');
    is($sum->{Generation}, generation($ac), 'its summary carries the generation');

    # deleting the account takes its configuration along
    my ($c2, $a2) = account();
    base_config($a2);
    is(psql_value("DELETE FROM prefs_account WHERE account_id = CAST(:'a' AS bigint) RETURNING 'gone'", a => $a2),
       'gone', 'an account with configuration can be deleted');
    is(psql_value("SELECT count(*) FROM prefs_config_version WHERE account_id = CAST(:'a' AS bigint)", a => $a2),
       0, '... its generation row too');
};


# --------------------------------------------------------------------------
my $demo = read_json_file($DEMO);

subtest 'import conf/demo-config.json' => sub {
    my ($client, $ac) = account('demo');
    my ($rc, $sum, $err) = import_doc($ac, $demo);
    is($rc, 0, 'the demo imports') or diag $err;
    my $total = 0;
    $total += scalar(collection($demo, $_)) for @KINDS;
    is_deeply($sum, { Created => $total, Updated => 0, Unchanged => 0, Deactivated => 0,
                      Generation => generation($ac) }, "summary: $total created");

    my $d = document($ac);
    is($d->{DefaultLocale}, 'en-US', 'DefaultLocale en-US');
    is_deeply([ sort map { $_->{LocaleId} } @{ $d->{Locales} } ], [qw(de-DE en-US fr-FR)], 'three locales');
    ok(@{ $d->{Programs} } >= 3, 'at least three programs');
    ok(@{ $d->{Filters} } >= 6, 'at least six filters');
    is_deeply({ map { $_->{ChannelId} => 1 } @{ $d->{Filters} } },
              { map { $_ => 1 } qw(Email Text Phone Mail) }, 'filters on Email, Text, Phone, Mail');
    is_deeply([ map { $_->{DisplayOrder} } @{ $d->{Filters} } ],
              [ sort { $a <=> $b } map { $_->{DisplayOrder} } @{ $d->{Filters} } ], 'filters in DisplayOrder');
    is(scalar(grep { $_->{ParentProgramGroupId} } @{ $d->{ProgramGroups} }), 1, 'a nested program group');
    my ($mkt) = grep { $_->{TypeName} eq 'Marketing' } @{ $d->{ConsentTypes} };
    is_deeply([ map { [$_->{ConsentVersion}, $_->{IsActive} ? 1 : 0] } @{ $mkt->{Versions} } ],
              [['1.0', 0], ['2.0', 1]], 'Marketing: 1.0 inactive, 2.0 active');
    is_deeply([ sort map { $_->{Locale} } @{ $mkt->{Versions}[1]{LocalizedFields} } ],
              [qw(de-DE en-US fr-FR)], '... in three locales');
    is_deeply([ sort map { $_->{DataType} } @{ $d->{CustomFields} } ],
              [sort qw(String Number Boolean Date DateTime List)], 'a custom field of every data type');
    my ($f) = grep { $_->{FilterId} eq 'NewsletterEmail' } @{ $d->{Filters} };
    my ($de) = grep { $_->{LocaleId} eq 'de-DE' } @{ $f->{FrequencyLocales} };
    is_deeply([ map { $_->{DisplayName} } @{ $de->{Frequencies} } ], ['Täglich', 'Wöchentlich', 'Monatlich'],
              'German frequencies, verbatim');
    is_deeply([ map { $_->{Name} } @{ $d->{AlternateIdTypes} } ], [qw(CRMId LoyaltyNumber)], 'alternate id types');
    ok(@{ $d->{ContactTypes}{$_} }, "$_ contact types") for qw(Email Phone Address);
    ok(@{ $d->{$_} }, "$_") for qw(CustomerTypes GroupTypes Tags ProgramTypes);

    # every field given in the file is exported as given
    for my $kind (@KINDS) {
        for my $want (collection($demo, $kind)) {
            my $key = $want->{ key_field($kind) };
            my $got = find_item($d, $kind, $key);
            is(is_subset($want, $got), '', "$kind $key: exported as imported");
        }
    }

    ($rc, $sum) = import_doc($ac, $demo);
    is_deeply($sum, { Created => 0, Updated => 0, Unchanged => $total, Deactivated => 0,
                      Generation => generation($ac) }, 'imported again: nothing changes');
};


# --------------------------------------------------------------------------
subtest 'round trip: export, import elsewhere, export' => sub {
    my (undef, $ac) = account();
    import_doc($ac, $demo);
    # some history: inactive items, a deactivated program still used
    is(deact($ac, Program => 'PartnerOffers')->{outcome}, 'deactivated', 'a used program deactivated');
    is(deact($ac, Tag => 'VIP')->{outcome}, 'deactivated', 'a tag deactivated');
    is(create($ac, Tag => { Name => 'Ünïcødé ✓', Description => "line 1\nline 2 \"q\" \\" })->{outcome}, 'created', 'a unicode tag');
    my $e1 = document($ac, 1);

    my (undef, $b) = account();
    my ($rc, $sum, $err) = import_doc($b, $e1);
    is($rc, 0, 'the export imports into another account') or diag $err;
    my $e2 = document($b, 1);
    delete $_->{Generation} for $e1, $e2;
    is_deeply($e2, $e1, 'its export equals the first one');
    is_deeply(document($b), do { my $x = document($ac); delete $x->{Generation}; $x = { %$x, Generation => generation($b) }; $x },
              'the active documents agree too');
};


# --------------------------------------------------------------------------
subtest 'import: order-independent, deactivates what it lacks' => sub {
    my (undef, $ac) = account();
    my $doc = {
        ProgramGroups => [
            { ProgramGroupId => 'Child', Name => 'Child', ParentProgramGroupId => 'Parent',
              DefaultPreferenceValues => [{ FilterId => 'F', PreferenceValue => 2 }] },
            { ProgramGroupId => 'Parent', Name => 'Parent', ProgramIds => ['P'] } ],
        Filters => [ { FilterId => 'F', ProgramId => 'P', ChannelId => 'Fax', Name => 'Fax',
                       DefaultLocaleId => 'sv-SE', RequiredPreferenceConsents => [{ TypeName => 'C' }] } ],
        ConsentTypes => [ { TypeName => 'C', Versions => [{ ConsentVersion => '1' }] } ],
        Programs => [ { ProgramId => 'P', ProgramTypeId => 'T', Name => 'P' } ],
        ProgramTypes => [ { ProgramTypeId => 'T', Name => 'T' } ],
        Locales => [ { LocaleId => 'sv-SE', Name => 'Svenska', IsDefault => JSON::PP::true } ],
        Generation => 12345, DefaultLocale => 'xx',
    };
    my ($rc, $sum, $err) = import_doc($ac, $doc);
    is($rc, 0, 'items may refer to items later in the document') or diag $err;
    is($sum->{Created}, 7, 'seven created');
    isnt(document($ac)->{Generation}, 12345, 'Generation of the input is ignored');
    is(document($ac)->{DefaultLocale}, 'sv-SE', 'and so is DefaultLocale');

    # an inactive item may be referred to (exports of such states import)
    $doc->{Programs}[0]{IsActive} = JSON::PP::false;
    ($rc, $sum, $err) = import_doc($ac, $doc);
    is($rc, 0, 'an active filter of an inactive program imports') or diag $err;
    is_deeply([ @$sum{qw(Created Updated Unchanged Deactivated)} ], [0, 1, 6, 0], 'one updated');

    ($rc, $sum, $err) = import_doc($ac, { Locales => $doc->{Locales}, Tags => [{ Name => 'T' }] });
    is($rc, 0, 'a smaller document') or diag $err;
    is_deeply([ @$sum{qw(Created Updated Unchanged Deactivated)} ], [1, 0, 1, 5], 'the rest deactivated (P already was)');
    my $d = document($ac);
    is_deeply([ map { scalar @{ $d->{$_} } } qw(Programs Filters ProgramGroups ConsentTypes ProgramTypes) ],
              [0, 0, 0, 0, 0], 'gone from the active document');
    my $all = document($ac, 1);
    ok(!find_item($all, Filter => 'F')->{IsActive}, 'kept, inactive');
    is(scalar(@{ $all->{ProgramGroups} }), 2, 'both groups kept');
};


# --------------------------------------------------------------------------
subtest 'an invalid import changes nothing' => sub {
    my (undef, $ac) = account();
    my ($rc) = import_doc($ac, $demo);
    is($rc, 0, 'demo imported');
    my $g = generation($ac);
    my $before = document($ac, 1);

    my $bad = sub {   # a copy of the demo, changed by $_[0]
        my $d = $J->decode($J->encode($demo));
        $_[0]->($d);
        return $d;
    };
    my @cases = (
        [ 'unknown program', $bad->(sub { $_[0]{Filters}[1]{ProgramId} = 'Nope' }),
          q{Filters[1] (FilterId 'NewsletterText'): ProgramId 'Nope' is not a program of the document} ],
        [ 'a bad field', $bad->(sub { $_[0]{Filters}[0]{FrequencyLocales}[2]{Frequencies}[1]{IsDefault} = 'oui' }),
          q{Filters[0] (FilterId 'NewsletterEmail'): FrequencyLocales[2].Frequencies[1].IsDefault must be true or false} ],
        [ 'a duplicate key', $bad->(sub { push @{ $_[0]{Tags} }, { Name => 'VIP' } }),
          q{Tags[4] (Name 'VIP'): Name 'VIP' appears more than once in Tags} ],
        [ 'two default locales', $bad->(sub { $_[0]{Locales}[1]{IsDefault} = JSON::PP::true }),
          q{Locales: only one locale may have IsDefault true, not de-DE, en-US} ],
        [ 'no default locale', $bad->(sub { delete $_[0]{Locales}[0]{IsDefault} }),
          q{Locales: one active locale must have IsDefault true} ],
        [ 'a locale the document lacks', $bad->(sub { $_[0]{CustomFields}[0]{Labels}[0]{LocaleId} = 'pt-BR' }),
          q{CustomFields[0] (Name 'Nickname'): Labels[0].LocaleId 'pt-BR' is not a locale of the document} ],
        [ 'a cycle of groups', $bad->(sub { $_[0]{ProgramGroups}[0]{ParentProgramGroupId} = 'MarketingCommunications' }),
          q{ProgramGroups[0] (ProgramGroupId 'AllCommunications'): ParentProgramGroupId 'MarketingCommunications' makes the group its own ancestor} ],
        [ 'an unknown collection', $bad->(sub { $_[0]{Channels} = [] }), q{'Channels' is not a known collection} ],
        [ 'an unknown contact type', $bad->(sub { $_[0]{ContactTypes}{Fax} = [] }), q{ContactTypes.Fax is not a known collection} ],
        [ 'a collection that is no array', $bad->(sub { $_[0]{Tags} = { Name => 'x' } }), q{Tags must be an array} ],
        [ 'an item that is no object', $bad->(sub { $_[0]{Programs}[2] = 'PartnerOffers' }),
          q{Programs[2]: the item must be a JSON object} ],
        [ 'not an object', [], q{the document must be a JSON object} ],
    );
    for my $c (@cases) {
        my ($what, $doc, $msg) = @$c;
        my ($rc, $sum, $err) = import_doc($ac, $doc);
        isnt($rc, 0, "$what: refused");
        is($err, $msg, "$what: message");
    }
    is(generation($ac), $g, 'the generation did not move');
    is_deeply(document($ac, 1), $before, 'the configuration is as it was');
};


# --------------------------------------------------------------------------
subtest 'prefsctl config export and import' => sub {
    my ($client, $ac) = account('ctl');
    my ($rc, $out) = prefsctl('config', 'import', $client, $DEMO);
    is($rc, 0, 'config import of the demo') or diag $out;
    my $sum = eval { $J->decode($out) };
    is($sum->{Created}, item_count($ac), 'prints the summary');

    ($rc, $out) = prefsctl('config', 'export', $client);
    is($rc, 0, 'config export');
    my $exp = eval { $J->decode($out) };
    is_deeply($exp, document($ac, 1), 'prints the document with inactive items');
    like($out, qr/^\{\n  "Generation": \d+,\n  "DefaultLocale": "en-US",\n  "Locales": \[\n    \{/,
         'pretty, in document order');

    # values that a shell or psql would love to interpret, stored verbatim
    # (relative names: no "/" in a file name; checked in $TMP and here)
    my $dir = "$TMP/dir with spaces \$(touch pwned-dir)";
    make_path($dir);
    my $file = "$dir/con'fig \"\$(touch pwned-name)\" `touch pwned-bq`.json";
    my $nasty = "He said \"hi\" \\ back\\slash \$(touch $TMP/pwned) `touch $TMP/pwned2` \${HOME} :'x' :x "
              . "'single' ; DROP TABLE prefs_account; -- Ünïcødé 日本語 🎉 עברית\n\ttab";
    my $doc = { %$exp,
        Tags => [ @{ $exp->{Tags} }, { Name => 'Tricky', Description => $nasty } ],
        CustomFields => [ @{ $exp->{CustomFields} },
            { Name => 'Quote"d \\ $(x)', DataType => 'List', AllowedValues => ['$(rm -rf /)', "a'b", 'c"d', "e\\f"] } ] };
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh JSON::PP->new->utf8->pretty->encode($doc);
    close $fh;
    ($rc, $out) = prefsctl('config', 'import', $client, $file);
    is($rc, 0, 'a file full of quotes, backslashes, $(...) and unicode imports') or diag $out;
    is_deeply([ @{ $J->decode($out) }{qw(Created Updated Deactivated)} ], [2, 0, 0], 'two new items');
    is(item($ac, Tag => 'Tricky')->{body}{Description}, $nasty, 'stored verbatim');
    is_deeply(item($ac, CustomField => 'Quote"d \\ $(x)')->{body}{AllowedValues},
              ['$(rm -rf /)', "a'b", 'c"d', "e\\f"], 'an odd key and values, verbatim');
    ok(!-e "$TMP/$_" && !-e $_, "nothing ran ($_)") for qw(pwned pwned2 pwned-dir pwned-name pwned-bq);
    ($rc, $out) = prefsctl('config', 'export', $client);
    is(find_item($J->decode($out), Tag => 'Tricky')->{Description}, $nasty, 'exported verbatim');

    my $g = generation($ac);
    ($rc, $out) = prefsctl('config', 'import', $client, "$TMP/no-such-file.json");
    is($rc, 1, 'a missing file: exit 1');
    like($out, qr/no-such-file\.json': no such file/, '... says so');

    open $fh, '>:raw', "$TMP/broken.json" or die;
    print $fh qq({"Tags": [ {"Name": "a"}, ]});
    close $fh;
    ($rc, $out) = prefsctl('config', 'import', $client, "$TMP/broken.json");
    is($rc, 1, 'invalid JSON: exit 1');
    like($out, qr/broken\.json' is not valid JSON: .*line 1/, '... says so, with the line');

    open $fh, '>:raw', "$TMP/dup.json" or die;
    print $fh qq({"Tags": [ {"Name": "a", "Name": "b"} ]});
    close $fh;
    ($rc, $out) = prefsctl('config', 'import', $client, "$TMP/dup.json");
    is($rc, 1, 'a duplicate key: exit 1');
    like($out, qr/key "Tags\[0\]\.Name" occurs twice/, '... named');

    open $fh, '>:raw', "$TMP/latin1.json" or die;
    print $fh qq({"Tags": [ {"Name": "caf\xe9"} ]});
    close $fh;
    ($rc, $out) = prefsctl('config', 'import', $client, "$TMP/latin1.json");
    is($rc, 1, 'not UTF-8: exit 1');
    like($out, qr/not valid UTF-8/, '... says so');

    my $bad = { %$doc, Filters => [ @{ $doc->{Filters} }[1 .. $#{ $doc->{Filters} }] ], Programs => [] };
    open $fh, '>:raw', "$TMP/invalid.json" or die;
    print $fh $J->encode($bad);
    close $fh;
    ($rc, $out) = prefsctl('config', 'import', $client, "$TMP/invalid.json");
    is($rc, 1, 'an invalid configuration: exit 1');
    like($out, qr/invalid\.json': ProgramGroups\[0\] \(ProgramGroupId 'AllCommunications'\): ProgramIds\[0\] 'ProductUpdates' is not a program of the document; nothing was changed/,
         '... names the item and the field');

    ($rc, $out) = prefsctl('config', 'import', 'no-such-account', $DEMO);
    is($rc, 1, 'an unknown account: exit 1');
    like($out, qr/account no-such-account not found/, '... says so');
    ($rc, $out) = prefsctl('config', 'export', 'no-such-account');
    is($rc, 1, 'export of an unknown account: exit 1');
    ($rc, $out) = prefsctl('config', 'import', $client);
    is($rc, 1, 'import without a file: usage error');
    is(generation($ac), $g, 'none of that changed anything');
};

done_testing();
