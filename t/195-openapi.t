# docs/openapi.yaml against what is served: every route of the router's
# table (read from the compiled table by scripts/routes-dump.sh), under the
# location prefixes of conf/production.conf, and the locations served by a
# handler of their own (prefs_api status, oauth), must be an operation of
# the document, and every operation of the document must be served.
# Then the document is linted (@redocly/cli, installed by scripts/npm.sh).
#
# A GET route of the table answers HEAD too; the document lists HEAD only
# where it says something of its own (a "head" operation must be served).
use strict;
use warnings;
use lib 't';
use Test::More;
use File::Basename qw(dirname);
use YAML::XS ();

my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
my $build = $ENV{TEST_NGINX_LOAD_MODULES} ? dirname($ENV{TEST_NGINX_LOAD_MODULES}) : "$top/build";

# the locations of the production configuration: prefix => prefs_api kind
my (%prefix, %exact);
open(my $conf, '<', "$top/conf/production.conf") or die "conf/production.conf: $!";
while (<$conf>) {
    next unless /^\s*location\s+(=\s*)?(\S+)\s*\{\s*(?:prefs_api\s+(\w+)\s*;)?/;
    my ($eq, $loc, $kind) = ($1, $2, $3);
    if (!defined $kind) {
        # "location = /prefs/status {" with the directive on a later line
        my $next = <$conf> // '';
        ($kind) = $next =~ /^\s*prefs_api\s+(\w+)\s*;/ or next;
    }
    if ($eq) { $exact{$loc} = $kind } else { $prefix{$loc} = $kind }
}
close $conf;
ok(scalar(keys %prefix) && scalar(keys %exact), 'conf/production.conf has API locations')
    or BAIL_OUT('no prefs_api location found in conf/production.conf');

# what the handlers of the exact locations accept (ngx_prefs_status.c,
# ngx_prefs_oauth.c); a new kind must be added here
my %kind_methods = (status => ['GET', 'HEAD'], metrics => ['GET', 'HEAD'], oauth => ['POST']);

# served: "METHOD /path/{}" (a path parameter is "{}")
my %served;
my %kind_prefix = reverse %prefix;
for my $loc (sort keys %exact) {
    my $m = $kind_methods{$exact{$loc}};
    ok($m, "prefs_api $exact{$loc} (location = $loc) has its methods in this test") or next;
    my $has_get = grep { $_ eq 'GET' } @$m;
    $served{"$_ $loc"} = $_ eq 'HEAD' && $has_get ? 'implied' : 1 for @$m;
}

open(my $dump, '-|', "$top/scripts/routes-dump.sh", $build) or die "routes-dump: $!";
my $routes = 0;
while (<$dump>) {
    chomp;
    my ($api, $methods, $path) = split / /;
    # the Integration API: "Async/" between a v4 location and the clientId
    my $p = $api eq 'v4_async' && $kind_prefix{v4}
            ? "$kind_prefix{v4}Async/" : $kind_prefix{$api};
    ok($p, "the API $api of route $methods $path has a location in conf/production.conf") or next;
    my @m = split /,/, $methods;
    my $has_get = grep { $_ eq 'GET' } @m;
    for my $m (@m) {
        # HEAD beside GET is implied, but it must be allowed if listed
        $served{"$m $p\{}/$path"} = $m eq 'HEAD' && $has_get ? 'implied' : 1;
    }
    $routes++;
}
close $dump;
is($?, 0, 'scripts/routes-dump.sh ran');
cmp_ok($routes, '>', 100, "the route table has $routes routes");

# documented: the same form
my $doc = YAML::XS::LoadFile("$top/docs/openapi.yaml");
my %documented;
for my $path (sort keys %{$doc->{paths}}) {
    (my $norm = $path) =~ s/\{[^}\/]+\}/{}/g;
    for my $op (sort keys %{$doc->{paths}{$path}}) {
        next if $op =~ /^(parameters|summary|description|servers|\$ref)$/;
        $documented{uc($op) . " $norm"} = $path;
    }
}

my @undocumented = grep { $served{$_} ne 'implied' && !$documented{$_} } sort keys %served;
my @unserved = grep { !$served{$_} } sort keys %documented;
is(scalar(@undocumented), 0, 'every route served is in docs/openapi.yaml')
    or diag("served, not documented:\n  " . join("\n  ", @undocumented));
is(scalar(@unserved), 0, 'every operation of docs/openapi.yaml is served')
    or diag("documented, not served:\n  " . join("\n  ", map { "$_ ($documented{$_})" } @unserved));

# every documented operation documents how it fails (a 4xx or 5xx answer),
# and every POST, PUT and PATCH its body; the lint checks the rest
for my $path (sort keys %{$doc->{paths}}) {
    for my $op (sort keys %{$doc->{paths}{$path}}) {
        next unless $op =~ /^(get|put|post|delete|patch|head)$/;
        my $o = $doc->{paths}{$path}{$op};
        my @codes = keys %{$o->{responses} || {}};
        ok((grep { /^[45]/ } @codes), "$op $path documents its errors")
            or diag("responses: @codes");
        ok($o->{requestBody}, "$op $path documents its request body")
            if $op =~ /^(post|put|patch)$/;
        # what every route of an API location can answer: unknown account,
        # no or a bad credential, throttled, no permission, no database
        if ($path =~ m{^/(?:Profiles/v4(?:/Async)?|api/3|API/3/async)/\{clientId\}/}) {
            my @missing = grep { !$o->{responses}{$_} } qw(401 403 404 429 503);
            is("@missing", '', "$op $path documents 401, 403, 404, 429 and 503");
        }
    }
}

# the lint: @redocly/cli as pinned in package-lock.json
my $redocly = "$top/node_modules/.bin/redocly";
ok(-x $redocly, 'node_modules/.bin/redocly is installed (scripts/npm.sh)')
    or diag('run scripts/npm.sh: it installs the pinned @redocly/cli from the npm registry');
SKIP: {
    skip 'no redocly', 1 unless -x $redocly;
    my $out = `cd '$top' && '$redocly' lint --config redocly.yaml --format stylish docs/openapi.yaml 2>&1`;
    is($?, 0, 'redocly lint docs/openapi.yaml') or diag($out);
}

done_testing();
