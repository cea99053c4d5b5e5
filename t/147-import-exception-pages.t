# GET Import/{token}/Exceptions pages by exception number (migration 035):
# limit and a 1-based offset as the reference has them, the pages
# together are every exception once in the order found, a page across two
# Stage requests, past the end, and what a page reads: the index of the
# exception numbers, as many rows as the page holds whatever its offset
# (before, OFFSET read every exception before the page).
use lib 't';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use File::Temp qw(tempfile);
use PrefsTest;
use JSON::PP;

api_account('ImportPagesCo');
api_user('ImportPagesCo', 'admin', 'Administrators');
PrefsTest::api_config_import('ImportPagesCo');

our $acct = psql_value("SELECT account_id FROM prefs_account WHERE client_id = 'ImportPagesCo'");
our $tok = decode_json(psql_value("SELECT body FROM prefs_import_initiate(:'a', NULL, :'b', 1000)",
                                  a => $acct, b => encode_json({ Name => 'pages' })))->{AccessToken};

# two Stage requests of 1,500 records; all but every 6th refused (not an
# object: refused before any match, cheap), 2,500 exceptions
our @expect;
for my $request (1, 2) {
    my @records = map { $_ % 6 == 0 ? { CustomerName => { FirstName => "P$_" },
                                        CustomFields => [ { Name => 'FavoriteCategory', Value => 'Garden' } ] }
                                    : 7 } 0 .. 1499;
    psql("SELECT prefs_import_stage_begin(:'a', :'t')", a => $acct, t => $tok);
    psql("SELECT prefs_import_stage(:'a', NULL, :'t', :'n', 0, :'r', NULL)", a => $acct, t => $tok, n => $request,
         r => encode_json(\@records));
    push @expect, map { { StageRequest => $request, Position => $_, Stage => 'Validation',
                          Message => 'the item must be a JSON object' } } grep { $_ % 6 } 0 .. 1499;
}
is(scalar @expect, 2500, 'the suite staged 2,500 exceptions');

# the rows the page's index scan read (auto_explain), and the index it used
sub page_read {
    my ($limit, $offset) = @_;
    my ($tmp, $file) = tempfile(UNLINK => 1);
    print $tmp "LOAD 'auto_explain';\nSET auto_explain.log_min_duration = 0;\n"
             . "SET auto_explain.log_nested_statements = on;\nSET auto_explain.log_analyze = on;\n"
             . "SET auto_explain.log_timing = off;\nSET auto_explain.log_level = notice;\n"
             . "SELECT outcome FROM prefs_import_exceptions($acct, '$tok', $limit, $offset);\n";
    close $tmp;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open(STDERR, '>&', \*STDOUT) or die;
        exec('psql', '-X', '-q', '-d', PrefsTest::db(), '-f', $file) or die "psql: $!";
    }
    local $/;
    my $log = <$out>;
    close $out;
    return $log =~ /Index Scan using (\S+) on prefs_import_record r\b.*?\(actual rows=(\d+) loops=1\)/
           ? "$1 $2" : "no index scan of the records in:\n$log";
}
is(page_read(10, 1), 'prefs_import_record_exception_no 10', 'page 1 of 10 reads 10 rows of the index');
is(page_read(10, 2401), 'prefs_import_record_exception_no 10', 'page 241 of 10 reads 10 rows too');
is(page_read(1000, 2001), 'prefs_import_record_exception_no 500', 'the last page of 1,000 reads its 500');

our $api = '/Profiles/v4/Async/ImportPagesCo/Import';

api_blocks();
run_tests();

__DATA__

=== TEST 1: the first page of 1,000
--- request eval
"GET $::api/$::tok/Exceptions?limit=1000&offset=1"
--- more_headers eval
PrefsTest::auth('ImportPagesCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 1000, TotalResults => 2500, Limit => 1000, Offset => 1, HasMore => 1,
  Exceptions => [ @::expect[0 .. 999] ] }
--- no_error_log
[error]
[alert]


=== TEST 2: the pages together are every exception once, in order; the last one has no more
--- request eval
[ map { "GET $::api/$::tok/Exceptions?limit=1000&offset=$_" } 1, 1001, 2001 ]
--- more_headers eval
[ map { PrefsTest::auth('ImportPagesCo', 'admin') } 1 .. 3 ]
--- error_code eval
[ 200, 200, 200 ]
--- response_json_list eval
[ { Count => 1000, Offset => 1, HasMore => 1, Exceptions => [ @::expect[0 .. 999] ] },
  { Count => 1000, Offset => 1001, HasMore => 1, Exceptions => [ @::expect[1000 .. 1999] ] },
  { Count => 500, Offset => 2001, HasMore => 0, TotalResults => 2500, Exceptions => [ @::expect[2000 .. 2499] ] } ]
--- no_error_log
[error]
[alert]


=== TEST 3: a page across the two Stage requests
--- request eval
"GET $::api/$::tok/Exceptions?limit=10&offset=1246"
--- more_headers eval
PrefsTest::auth('ImportPagesCo', 'admin')
--- error_code: 200
--- response_json eval
{ Count => 10, TotalResults => 2500, Limit => 10, Offset => 1246, HasMore => 1,
  Exceptions => [ @::expect[1245 .. 1254] ] }
--- no_error_log
[error]
[alert]


=== TEST 4: past the end: an empty page
--- request eval
[ "GET $::api/$::tok/Exceptions?offset=2501", "GET $::api/$::tok/Exceptions?limit=10000&offset=100000000" ]
--- more_headers eval
[ map { PrefsTest::auth('ImportPagesCo', 'admin') } 1 .. 2 ]
--- error_code eval
[ 200, 200 ]
--- response_json_list eval
[ { Count => 0, TotalResults => 2500, Limit => 1000, Offset => 2501, HasMore => 0, Exceptions => [] },
  { Count => 0, TotalResults => 2500, Limit => 10000, Offset => 100000000, HasMore => 0, Exceptions => [] } ]
--- no_error_log
[error]
[alert]
