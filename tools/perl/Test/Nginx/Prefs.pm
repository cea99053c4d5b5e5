package Test::Nginx::Prefs;

# Signed requests and OAuth tokens for the Test::Nginx suites of an nginx
# that runs ngx_prefs (the module's users' own suites; docs/testing.md).
# Pure Perl: Digest::SHA, MIME::Base64, HTTP::Tiny and IO::Socket::INET,
# all part of Debian's perl.  Works under the real Test::Nginx::Socket and
# under the runner bundled with ngx_prefs.
#
#     use Test::Nginx::Socket 'no_plan';
#     use Test::Nginx::Prefs;
#
#     --- more_headers eval
#     Test::Nginx::Prefs::auth()
#
# The defaults come from the environment that `prefsctl fixture create`
# prints: TEST_NGINX_PREFS_CLIENT_ID, _USER, _SECRET,
# _OAUTH_CLIENT_ID, _OAUTH_CLIENT_SECRET, _HTTP_CONF, TEST_NGINX_LOAD_MODULES
# and TEST_NGINX_BINARY.

use strict;
use warnings;

use Digest::SHA ();
use File::Temp ();
use HTTP::Tiny ();
use IO::Socket::INET ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();

our $VERSION = '0.1.0';

my %Hmac = (
    SHA256 => \&Digest::SHA::hmac_sha256,
    SHA384 => \&Digest::SHA::hmac_sha384,
    SHA512 => \&Digest::SHA::hmac_sha512,
);

sub env_or_die {
    my ($name) = @_;
    my $v = $ENV{$name};
    die "Test::Nginx::Prefs: $name is not set (eval \"\$(prefsctl fixture create ...)\")\n"
        unless defined $v && length $v;
    return $v;
}

# sign(%o): the value of an Authorization header for PNAUTHINFO3-HMAC-<alg>:
# Base64(HMAC(secret, "ClientId:UserName:timestamp")).  Options: client,
# user, secret (defaults: the fixture's), alg (SHA256, SHA384, SHA512),
# time (epoch seconds to sign; default now), skew (seconds added to it).
sub sign {
    my (%o) = @_;
    my $client = $o{client} // env_or_die('TEST_NGINX_PREFS_CLIENT_ID');
    my $user   = $o{user}   // env_or_die('TEST_NGINX_PREFS_USER');
    my $secret = $o{secret} // env_or_die('TEST_NGINX_PREFS_SECRET');
    my $alg    = uc($o{alg} // 'SHA256');
    my $hmac   = $Hmac{$alg} or die "Test::Nginx::Prefs: unknown alg '$alg'\n";
    my $stamp  = POSIX::strftime('%Y-%m-%dT%H:%M:%S',
                                 gmtime(($o{time} // time) + ($o{skew} // 0)));
    my $mac = MIME::Base64::encode_base64($hmac->("$client:$user:$stamp", $secret), '');
    return "PNAUTHINFO3-HMAC-$alg Credential=$user/$stamp Signature=$mac";
}

# auth(%o): a `--- more_headers` line that signs the request (sign()'s
# options), made just before the block runs.
#
# Both runners evaluate every block's `eval` sections when run_tests()
# starts; a signature made then grows older with every block, and a long
# suite would outlive the account's authentication window.  So the line
# holds a mark, and a block preprocessor puts a fresh signature in its place.
my @Deferred;       # code refs, by mark number
my $Preprocessing;

sub auth {
    my (%o) = @_;
    sign(%o);      # fail now, at the block that asked, if something is missing
    return 'Authorization: ' . _deferred(sub { sign(%o) }) . "\n";
}

# _deferred($code): a mark that _run_deferred() replaces by $code's value
# just before the block runs
sub _deferred {
    push @Deferred, $_[0];
    Test::Nginx::Util::add_block_preprocessor(\&_run_deferred) unless $Preprocessing++;
    return "<<Test::Nginx::Prefs $#Deferred>>";
}

sub _run_deferred {
    my $h = $_[0]->more_headers // return;
    my @lines = ref $h eq 'ARRAY' ? @$h : ($h);
    s/<<Test::Nginx::Prefs (\d+)>>/$Deferred[$1]->()/ge for @lines;
    $_[0]->set_value(more_headers => ref $h eq 'ARRAY' ? \@lines : $lines[0]);
}

# oauth_token(%o): an access token of the client credentials grant.
# Options: client_id, client_secret (defaults: the fixture's OAuth client),
# scope, url (the token endpoint of a running server).  Without url, an
# nginx of its own is started for the request (the fixture's module and
# prefs-http.conf, a free port, a temporary prefix) and stopped again, so
# that a suite can get its tokens before run_tests().
sub oauth_token {
    my (%o) = @_;
    my $id     = $o{client_id}     // env_or_die('TEST_NGINX_PREFS_OAUTH_CLIENT_ID');
    my $secret = $o{client_secret} // env_or_die('TEST_NGINX_PREFS_OAUTH_CLIENT_SECRET');
    my $form = HTTP::Tiny->new->www_form_urlencode({
        grant_type => 'client_credentials', client_id => $id, client_secret => $secret,
        (defined $o{scope} ? (scope => $o{scope}) : ()) });

    my $server;
    my $url = $o{url} // do {
        $server = _token_server();
        "http://127.0.0.1:$server->{port}/oauth/token";
    };
    my $res = HTTP::Tiny->new(timeout => 10)->post($url, {
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
        content => $form });
    _stop_server($server) if $server;
    $res->{success} && $res->{content} =~ /"access_token"\s*:\s*"([A-Za-z0-9_-]+)"/
        or die "Test::Nginx::Prefs: POST $url: $res->{status} $res->{content}\n";
    return $1;
}

# bearer(%o): a `--- more_headers` line with a bearer token (oauth_token()'s
# options); one token per set of options for the whole suite.
my %Tokens;

sub bearer {
    my (%o) = @_;
    my $key = join "\0", map { "$_=" . ($o{$_} // '') } sort keys %o;
    $Tokens{$key} //= oauth_token(%o);
    return "Authorization: Bearer $Tokens{$key}\n";
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "Test::Nginx::Prefs: no free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _nginx_binary {
    return $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};
    for my $dir (split /:/, $ENV{PATH} // '') {
        return "$dir/nginx" if -x "$dir/nginx";
    }
    return '/usr/sbin/nginx';
}

sub _token_server {
    my $http = env_or_die('TEST_NGINX_PREFS_HTTP_CONF');
    my $root = File::Temp::tempdir('prefs-token-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$root/logs";
    my $port = _free_port();
    my $modules = join '', map { "load_module $_;\n" } split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $user = $> == 0 ? "user root;\n" : '';
    open my $fh, '>', "$root/nginx.conf" or die "Test::Nginx::Prefs: $root/nginx.conf: $!\n";
    print $fh <<"CONF";
${modules}${user}daemon on;
master_process on;
worker_processes 1;
error_log $root/logs/error.log warn;
pid $root/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    include $http;
    prefs_helper off;
    client_body_temp_path $root/client_body_temp;
    proxy_temp_path $root/proxy_temp;
    fastcgi_temp_path $root/fastcgi_temp;
    uwsgi_temp_path $root/uwsgi_temp;
    scgi_temp_path $root/scgi_temp;
    server {
        listen 127.0.0.1:$port;
        location = /oauth/token { prefs_api oauth; }
    }
}
CONF
    close $fh;
    my $bin = _nginx_binary();
    system($bin, '-p', "$root/", '-c', "$root/nginx.conf", '-e', "$root/logs/error.log") == 0
        or die "Test::Nginx::Prefs: $bin did not start: " . _slurp("$root/logs/error.log") . "\n";
    my $server = { root => $root, port => $port };
    for (1 .. 200) {
        return $server if -s "$root/logs/nginx.pid"
            && IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
        Time::HiRes::sleep(0.05);
    }
    _stop_server($server);
    die "Test::Nginx::Prefs: the token server did not listen on $port\n";
}

sub _stop_server {
    my ($server) = @_;
    my $pid = _slurp("$server->{root}/logs/nginx.pid");
    return unless $pid =~ /^(\d+)/;
    $pid = $1;
    kill 'QUIT', $pid;
    for (1 .. 200) {
        return unless kill 0, $pid;
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', $pid;
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

1;

__END__

=head1 NAME

Test::Nginx::Prefs - sign requests and get OAuth tokens in Test::Nginx
suites of an nginx running ngx_prefs

=head1 SYNOPSIS

    eval "$(prefsctl --db 'host=/run/postgresql dbname=postgres' fixture create)"
    prove t/
    prefsctl fixture drop

    use Test::Nginx::Socket 'no_plan';
    use Test::Nginx::Prefs;

    run_tests();

    __DATA__

    === TEST 1: a signed GET
    --- http_config
    include $TEST_NGINX_PREFS_HTTP_CONF;
    --- config
    location /Profiles/v4/ { prefs_api v4; }
    --- request eval
    "GET /Profiles/v4/$ENV{TEST_NGINX_PREFS_CLIENT_ID}/Programs"
    --- more_headers eval
    Test::Nginx::Prefs::auth() . "Accept-Language: fr-FR\n"
    --- error_code: 200
    --- no_error_log
    [error]

=head1 FUNCTIONS

=over

=item sign(%options)

The value of an C<Authorization> header, PNAUTHINFO3-HMAC-SHA256 by
default. Options: C<client>, C<user>, C<secret> (default: the fixture's),
C<alg> (C<SHA256>, C<SHA384>, C<SHA512>), C<time> (epoch seconds), C<skew>.

=item auth(%options)

A C<--- more_headers> line with a signature made just before the block runs.

=item oauth_token(%options)

An access token from C</oauth/token> (client credentials grant). Options:
C<client_id>, C<client_secret> (default: the fixture's OAuth client),
C<scope>, C<url> (default: a short-lived nginx of its own).

=item bearer(%options)

A C<--- more_headers> line C<Authorization: Bearer ...>, one token per set
of options.

=back

See docs/testing.md of ngx_prefs (in the Debian package:
/usr/share/doc/libnginx-mod-http-prefs/docs/testing.md).

=cut
