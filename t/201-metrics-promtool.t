# prefs_api metrics on a real nginx (master, two workers, the helper): the
# counters of both workers add up in the shared zone, and a scrape passes
# `promtool check metrics` (Debian package prometheus; skipped when it is
# not installed); the OpenMetrics answer passes the Prometheus Python
# client's parser (python3-prometheus-client; skipped likewise).
use strict;
use warnings;
use lib 't';
use Test::More;
use PrefsTest;

my $client = make_account('metrics');
my $secret = make_user($client, 'admin', 'Administrators');

my $ng = PrefsTest::start_nginx(
    name => "metrics-$$",
    workers => 2,
    config => 'location = /prefs/metrics { prefs_api metrics; }'
        . ' location /api/3/ { prefs_api v3; }',
);

# fresh connections: the two workers share them
my $n = 40;
my %codes;
for (1 .. $n) {
    my ($st) = $ng->request(path => "/Profiles/v4/$client/Users",
                            headers => { Authorization => pnauth($client, 'admin', $secret) });
    $codes{$st}++;
}
is_deeply(\%codes, { 200 => $n }, "$n signed requests answered");
my ($st) = $ng->request(path => "/Profiles/v4/$client/Users",
                        headers => { Authorization => pnauth($client, 'admin', 'wrong') });
is($st, 401, 'a bad signature');
($st) = $ng->request(path => "/api/3/$client/Preferences/CID/42/Program");
is($st, 401, 'a v3 request without credentials');

my ($code, $h, $body) = $ng->request(path => '/prefs/metrics');
is($code, 200, 'scraped');
like($h->{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'the text format');
like($body, qr/^prefs_http_requests_total\{api="v4",route="\/Users",method="GET",status="2xx"\} $n$/m,
     "all $n counted, whichever worker answered");
like($body, qr/^prefs_http_request_duration_seconds_count\{api="v4",route="\/Users"\} @{[$n + 1]}$/m,
     'and their latencies (the 401 too)');
like($body, qr/^prefs_http_requests_total\{api="v3",route="\/Preferences\/CID\/\*\/Program",method="GET",status="4xx"\} 1$/m,
     'the v3 request under its template');
like($body, qr/^prefs_auth_failures_total\{reason="signature"\} 1$/m, 'the failure by reason');
like($body, qr/^prefs_workers 2$/m, 'two workers');
like($body, qr/^prefs_helper_up 1$/m, 'the helper runs');
like($body, qr/^prefs_database_up 1$/m, 'the database was read');
unlike($body, qr/\Q$client\E/, 'no clientId in any label');

SKIP: {
    my ($rc, $out) = PrefsTest::promtool_check($body, "$ng->{root}/logs");
    skip 'promtool is not installed (Debian package prometheus)', 2 unless defined $rc;
    is($rc, 0, 'promtool check metrics passes') or diag($out);
    is($out, '', 'with nothing to say');
}

($code, $h, $body) = $ng->request(path => '/prefs/metrics',
                                  headers => { Accept => 'application/openmetrics-text; version=1.0.0' });
is($code, 200, 'scraped as OpenMetrics');
like($h->{'content-type'}, qr{^application/openmetrics-text; version=1\.0\.0}, 'its type');
like($body, qr/^# TYPE prefs_http_requests counter$/m, 'a counter family without _total');
like($body, qr/\n# EOF\n\z/, 'ends with # EOF');

SKIP: {
    # the OpenMetrics parser of the Prometheus Python client (Debian
    # package python3-prometheus-client)
    skip 'no OpenMetrics parser (Debian package python3-prometheus-client)', 1
        if system('/usr/bin/python3', '-c', 'import prometheus_client') != 0;
    my $file = "$ng->{root}/logs/metrics.om";
    open my $fh, '>', $file or die $!;
    print $fh $body;
    close $fh;
    my $out = `/usr/bin/python3 -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
print(len(list(parse(open(sys.argv[1]).read()))))' '$file' 2>&1`;
    like($out, qr/^[1-9]\d*$/, 'the OpenMetrics parser reads it') or diag($out);
}

unlike($ng->error_log, qr/\[(error|alert|crit|emerg)\]/, 'nothing went wrong');

done_testing();
