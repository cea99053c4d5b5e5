package Test::Nginx::Socket;

# Bundled, Test::Nginx::Socket-compatible test scaffold (see t/README.md).
#
# Test files use exactly the same boilerplate as with OpenResty's CPAN
# module:
#
#     use Test::Nginx::Socket 'no_plan';
#     run_tests();
#     __DATA__
#     === TEST 1: ...
#
# NOTE: "use Test::Base -Base" turns on Spiffy's source filter for this
# file, which inserts "my $self = shift;" into every sub declared WITHOUT
# a prototype.  Every sub below therefore has a prototype.

use v5.10.1;
use Test::Base -Base;

our $VERSION = '0.29_01';

# lets a test tell this bundled copy from the CPAN module
our $BUNDLED = 1;

use POSIX qw( WNOHANG );
use Errno qw( EAGAIN EWOULDBLOCK EINTR EPIPE ECONNRESET );
use Time::HiRes qw( sleep time );
use IO::Socket::INET ();
use Digest::MD5 ();
use List::Util qw( min );

use Test::Nginx::Util;

our @EXPORT = qw( env_to_nginx is_str plan run_tests run_test
  repeat_each config_preamble worker_connections
  master_process_enabled
  no_long_string workers master_on master_off
  log_level no_shuffle no_root_location
  server_name
  server_addr server_root html_dir server_port server_port_for_client
  timeout no_nginx_manager check_accum_error_log
  add_block_preprocessor bail_out add_cleanup_handler
  add_test_cleanup_handler use_hup add_response_body_check
);

our $TotalConnectingTimeouts = 0;

$RunTestHelper = \&run_test_helper;
$CheckErrorLog = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

our @ResponseBodyChecks;

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

sub set_http_config_filter ($) {
    $FilterHttpConfig = shift;
}

sub run_test ($) {
    Test::Nginx::Util::run_test(shift);
}

# ---------------------------------------------------------------------------
# building requests
# ---------------------------------------------------------------------------

sub parse_more_headers ($) {
    my ($in) = @_;
    my ($is_chunked, $out) = (undef, '');
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        $header =~ s/\r$//;
        my ($key, $val) = split /:\s*/, $header, 2;
        next if !defined $key;
        $val = '' if !defined $val;
        if (lc($key) eq 'transfer-encoding' && $val eq 'chunked') {
            $is_chunked = 1;
        }
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Takes the request (as a list of packet strings), adds the missing
# protocol version and the automatic headers (Host, Connection,
# Content-Length) and returns the new list of packets.  Packet boundaries
# inside the body keep their position relative to the body.
sub build_request_from_packets ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn_header, $packets) = @_;

    my $full = join '', @$packets;

    my ($first, $content) = $full =~ /\A([^\n]*\n?)(.*)\z/s;
    $first = '' if !defined $first;
    $content = '' if !defined $content;

    if ($first !~ /^(\s*)(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?\s*$/) {
        bail_out("$name - Request line is not valid. Should be "
                 . "'meth [url [version]]' but got \"$first\".");
    }
    my ($lead_ws, $meth, $url, $ver) = (length($1), $2, $3, $4);
    $url = '/' if !defined $url;
    $ver = 'HTTP/1.1' if !defined $ver;

    my $len_header = '';
    my $trimmed_lead = 0;
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length\s*:/i)
    {
        (my $t = $content) =~ s/^\s+//s;
        $trimmed_lead = length($content) - length($t);
        $t =~ s/\s+$//s;
        $content = $t;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    if ($more_headers !~ /(?:^|\n)Host\s*:/i) {
        $headers .= "Host: $ServerName\r\n";
    }
    if ($more_headers !~ /(?:^|\n)Connection\s*:/i) {
        $headers .= "Connection: $conn_header\r\n";
    }
    $headers .= "$more_headers$len_header\r\n";

    my $req_line = "$meth $url $ver";
    my $head = "$req_line\r\n$headers";
    my $new_full = $head . $content;

    my @out;
    my ($orig_pos, $new_pos) = (0, 0);
    for my $i (0 .. $#$packets - 1) {
        $orig_pos += length $packets->[$i];
        my $b;
        if ($orig_pos < length($first) && $first =~ /\n$/
            || $orig_pos < length($first) && $content eq '' && $first !~ /\n$/)
        {
            # boundary inside the request line
            $b = $orig_pos - $lead_ws;
            $b = 0 if $b < 0;
            $b = length $req_line if $b > length $req_line;

        } elsif ($orig_pos <= length($first)) {
            $b = length $head;

        } else {
            $b = length($head) + $orig_pos - length($first) - $trimmed_lead;
            $b = length $head if $b < length $head;
        }
        $b = length $new_full if $b > length $new_full;
        $b = $new_pos if $b < $new_pos;
        push @out, substr($new_full, $new_pos, $b - $new_pos);
        $new_pos = $b;
    }
    push @out, substr($new_full, $new_pos);

    return \@out;
}

# Returns a list of requests; every request is a list of packets
# ({ value => ..., delay_before => ... }).
sub get_req_from_block ($) {
    my ($block) = @_;
    my $name = $block->name;

    my @req_list;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            push @req_list, [ map { ref $_ ? { %$_ } : { value => $_ } } @$raw ];
        } else {
            push @req_list, [ { value => $raw } ];
        }
        return \@req_list;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;

    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) {
                # strip leading comments and blank space
            }
        }
    }

    my $more_headers = $block->more_headers;
    $more_headers = '' if !defined $more_headers;

    my $hdr_for = sub {
        my ($i, $what) = @_;
        if (ref $more_headers eq 'ARRAY') {
            my $h = $more_headers->[$i];
            if (!defined $h) {
                bail_out("--- more_headers lacks data for the $what");
            }
            return parse_more_headers($h);
        }
        return parse_more_headers($more_headers);
    };

    if (defined $block->pipelined_requests) {
        my $reqs = $block->pipelined_requests;
        if (!ref $reqs || ref $reqs ne 'ARRAY') {
            bail_out("$name - invalid entries in --- pipelined_requests");
        }
        my $prq = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my ($hdr, $is_chunked) = $hdr_for->($i, "${i}th pipelined request");
            my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                               $conn, [ $reqs->[$i] ]);
            $prq .= join '', @$r;
        }
        push @req_list, [ { value => $prq } ];
        return \@req_list;
    }

    if (!defined $request) {
        return \@req_list;
    }

    if (!ref $request) {
        my ($hdr, $is_chunked) = $hdr_for->(0, "request");
        my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                           'close', [ $request ]);
        push @req_list, [ map { { value => $_ } } @$r ];

    } elsif (ref $request eq 'ARRAY') {
        my $i = 0;
        for my $one_req (@$request) {
            my ($hdr, $is_chunked) = $hdr_for->($i, "${i}th request");

            if (!ref $one_req) {
                my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                                   'close', [ $one_req ]);
                push @req_list, [ map { { value => $_ } } @$r ];

            } elsif (ref $one_req eq 'ARRAY') {
                my (@strs, @meta);
                for my $p (@$one_req) {
                    if (!ref $p) {
                        push @strs, $p;
                        push @meta, {};
                    } elsif (ref $p eq 'HASH') {
                        push @strs, defined $p->{value} ? $p->{value} : '';
                        push @meta, { %$p };
                    } else {
                        bail_out("$name - Invalid syntax. $p should be a "
                                 . "string or hash with value.");
                    }
                }
                my $r = build_request_from_packets($name, $hdr, $is_chunked,
                                                   'close', \@strs);
                my @pkts;
                for my $j (0 .. $#$r) {
                    push @pkts, { %{ $meta[$j] || {} }, value => $r->[$j] };
                }
                push @req_list, \@pkts;

            } else {
                bail_out("$name - Invalid syntax. $one_req should be a "
                         . "string or an array of packets.");
            }
            $i++;
        }

    } else {
        bail_out("$name - invalid ---request : MUST be string or array of requests");
    }

    return \@req_list;
}

# ---------------------------------------------------------------------------
# talking to nginx
# ---------------------------------------------------------------------------

sub send_request ($$$$) {
    my ($req, $middle_delay, $timeout, $block) = @_;

    my $name = $block->name;
    my @bits = @$req;

    my $head_req = (join('', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/) ? 1 : 0;

    my $server_addr = $block->server_addr_for_client;
    $server_addr = $ServerAddr if !defined $server_addr;

    my $sock;
    my $err;
    my $deadline = time + ($TotalConnectingTimeouts ? 1 : 3);
    my $step = 0.005;
    while (1) {
        $sock = IO::Socket::INET->new(
            PeerAddr => $server_addr,
            PeerPort => $ServerPortForClient,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        last if $sock;
        $err = $!;
        last if time > $deadline;
        if (defined $Test::Nginx::Util::ChildPid
            && !is_running($Test::Nginx::Util::ChildPid))
        {
            last;
        }
        sleep $step;
        $step *= 2;
        $step = 0.2 if $step > 0.2;
    }

    if (!$sock) {
        $TotalConnectingTimeouts++;
        Test::More::fail("$name - Can't connect to "
                         . "$server_addr:$ServerPortForClient: $err (aborted)");
        my $tail = Test::Nginx::Util::_tail_file($Test::Nginx::Util::ErrLogFile, 10);
        Test::More::diag("tail of error.log:\n$tail") if $tail =~ /\S/;
        return (undef, $head_req);
    }

    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my $fd = fileno $sock;
    my $resp = '';
    my $cur = shift @bits;
    my $wbuf = $cur->{value};
    my $woff = 0;
    my $writing = 1;
    my $reading = 1;

    while ($writing || $reading) {
        # done with the current packet? move to the next one
        while ($writing && $woff >= length $wbuf) {
            my $next = shift @bits;
            if (!defined $next) {
                $writing = 0;
                my $shutdown = $block->shutdown;
                if (defined $shutdown) {
                    $shutdown = 1 if $shutdown !~ /\d/;
                    shutdown($sock, $shutdown + 0);
                }
                last;
            }
            my $wait = defined $next->{delay_before}
                       ? $next->{delay_before} : $middle_delay;
            sleep $wait if $wait;
            $wbuf = $next->{value};
            $wbuf = '' if !defined $wbuf;
            $woff = 0;
        }

        last if !$writing && !$reading;

        my ($rin, $win) = ('', '');
        vec($rin, $fd, 1) = 1 if $reading;
        vec($win, $fd, 1) = 1 if $writing;
        my ($rout, $wout);
        my $n = select($rout = $rin, $wout = $win, undef, $timeout);

        if (!defined $n || $n < 0) {
            next if $! == EINTR;
            warn "WARNING: $name - select() failed: $!\n";
            last;
        }

        if ($n == 0) {
            # timed out
            close $sock;
            if (!defined $block->abort) {
                Test::More::fail("ERROR: client socket timed out - $name");
            } else {
                sleep 0.005;
            }
            return ($resp, $head_req);
        }

        if ($reading && vec($rout, $fd, 1)) {
            while (1) {
                my $buf;
                my $bytes = sysread($sock, $buf, 65536);
                if (!defined $bytes) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    next if $! == EINTR;
                    if ($! != ECONNRESET || $resp eq '') {
                        warn "WARNING: $name - HTTP response read failure: $!\n";
                    }
                    $reading = 0;
                    $writing = 0;
                    last;
                }
                if ($bytes == 0) {
                    # connection closed by the server
                    $reading = 0;
                    $writing = 0;
                    last;
                }
                $resp .= $buf;
            }
        }

        if ($writing && vec($wout, $fd, 1)) {
            my $rest = length($wbuf) - $woff;
            if ($rest > 0) {
                my $bytes = syswrite($sock, $wbuf, $rest, $woff);
                if (!defined $bytes) {
                    next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                    if ($! != EPIPE && $! != ECONNRESET) {
                        warn "WARNING: $name - write failed: $!\n";
                    }
                    # the server may already have replied: keep reading
                    $writing = 0;
                    next;
                }
                $woff += $bytes;
            }
        }
    }

    close $sock;
    return ($resp, $head_req);
}

sub parse_response ($$$) {
    my ($name, $raw_resp, $head_req) = @_;

    my $left;
    my $raw_headers = '';
    if ($raw_resp =~ /(.*?\r\n)\r\n/s) {
        $raw_headers = $1;
    }

    my $res = Test::Nginx::Util::Response->parse($raw_resp);

    my $code = $res->code;
    if ($code && ($code == 304 || $code == 101)) {
        return ($res, $raw_headers);
    }

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $raw = $res->content;
        $raw = '' if !defined $raw;

        my $decoded = '';
        while (1) {
            if ($raw =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                if ($raw =~ /\G (.+) /gcsx) {
                    $left = $1;
                }
                last;
            }

            if ($raw =~ m{\G [\ \t]* ([A-Fa-f0-9]+) [\ \t]* \r\n}gcsx) {
                my $rest = hex($1);
                if (length($raw) - pos($raw) < $rest) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enough octets for the data section)");
                    return;
                }
                $decoded .= substr($raw, pos($raw), $rest);
                pos($raw) += $rest;
                if ($raw !~ /\G\r\n/gcs) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }

            } elsif ($raw =~ /\G.+/gcs) {
                Test::More::fail("$name - invalid chunked body received: $&");
                return;

            } else {
                Test::More::fail("$name - no last chunk found - $raw");
                return;
            }
        }

        $res->content($decoded);

    } elsif (defined $len && $len =~ /^\d+$/) {
        my $raw = $res->content;
        $raw = '' if !defined $raw;
        if (length $raw < $len) {
            if (!$head_req) {
                warn "WARNING: $name - response body truncated: ",
                     "$len expected, but got ", length $raw, "\n";
            }

        } elsif (length $raw > $len) {
            $left = substr $raw, $len;
            $res->content(substr $raw, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# the per-repetition test driver
# ---------------------------------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;

    my $name = $block->name;

    my $r_req_list = get_req_from_block($block);

    if (!@$r_req_list) {
        bail_out("$name - request empty");
    }

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() if !defined $timeout;

    my $res;
    my $req_idx = 0;
    my ($n, $need_array);

    for my $one_req (@$r_req_list) {
        my ($raw_resp, $head_req);

        if ($dry_run) {
            $raw_resp = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw_resp, $head_req) = send_request($one_req,
                                                  $block->raw_request_middle_delay,
                                                  $timeout, $block);
        }

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$r_req_list > 1;
        }

        while (1) {
            if ($Test::Nginx::Util::Verbose) {
                warn "!!! resp: [", (defined $raw_resp ? $raw_resp : ''), "]\n";
            }

            $raw_resp = '' if !defined $raw_resp;

            my ($raw_headers, $left);

            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = Test::Nginx::Util::Response->new(200, 'OK', [], $raw_resp);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) =
                        parse_response($name, $raw_resp, $head_req);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}',ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$l\"\n";
                }
            } else {
                $raw_resp = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx,
                                    $repeated_req_idx, $need_array);
            }

            if ($n || $req_idx < @$r_req_list - 1) {
                if ($block->wait) {
                    sleep parse_time($block->wait);
                }

                check_error_log($block, $res, $dry_run, $repeated_req_idx,
                                $need_array);

                if (!defined $block->ignore_response) {
                    check_access_log($block, $dry_run, $repeated_req_idx);
                }
            }

            $req_idx++;

            last if !$n;
        }
    }

    if ($block->wait) {
        sleep parse_time($block->wait);
    }

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);

    if (!defined $block->ignore_response) {
        check_access_log($block, $dry_run, $repeated_req_idx);
    }
}

# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        if (ref $value && ref $value eq 'ARRAY') {
            return $$value[$req_idx];
        }
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        return $$value[0];
    }
    return $value;
}

sub _code ($) {
    my $res = shift;
    return ($res && defined $res->code) ? $res->code : '';
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;

    if ($dry_run) {
        return skip_or_fail($name, $dry_run);
    }

    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like,
                                    $req_idx, $need_array);
        Test::More::like(_code($res), qr/$val/sm, "$name - status code ok");

    } elsif (defined $block->error_code) {
        my $val = get_indexed_value($name, $block->error_code,
                                    $req_idx, $need_array);
        $val =~ s/^\s+|\s+$//g if defined $val && !ref $val;
        Test::More::is(_code($res), $val, "$name - status code ok");

    } else {
        Test::More::is(_code($res), 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' if !defined $raw_headers;

    if (defined $block->raw_response_headers_like) {
        if ($dry_run) {
            skip_or_fail("$name - raw_response_headers_like", $dry_run);
        } else {
            my $expected = get_indexed_value($name,
                               $block->raw_response_headers_like,
                               $req_idx, $need_array);
            Test::More::like($raw_headers, qr/$expected/s,
                             "$name - raw resp headers like");
        }
    }

    if (defined $block->raw_response_headers_unlike) {
        if ($dry_run) {
            skip_or_fail("$name - raw_response_headers_unlike", $dry_run);
        } else {
            my $expected = get_indexed_value($name,
                               $block->raw_response_headers_unlike,
                               $req_idx, $need_array);
            Test::More::unlike($raw_headers, qr/$expected/s,
                               "$name - raw resp headers unlike");
        }
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' if !defined $raw_headers;

    if (defined $block->response_headers) {
        my $spec = get_indexed_value($name, $block->response_headers,
                                     $req_idx, $need_array);
        for my $pair (Test::Nginx::Util::parse_headers_ordered($spec)) {
            my ($key, $val) = @$pair;

            if ($dry_run) {
                skip_or_fail("$name - response_headers", $dry_run);
                next;
            }

            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/msi,
                    "$name - header $key not present in the raw headers");
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

            my $actual_val = $res ? $res->header($key) : undef;
            $actual_val = '' if !defined $actual_val;

            Test::More::is($actual_val, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $spec = get_indexed_value($name, $block->response_headers_like,
                                     $req_idx, $need_array);
        for my $pair (Test::Nginx::Util::parse_headers_ordered($spec)) {
            my ($key, $val) = @$pair;
            $val = '' if !defined $val;

            if ($dry_run) {
                skip_or_fail("$name - response_headers_like", $dry_run);
                next;
            }

            my $actual_val = $res ? $res->header($key) : undef;
            $actual_val = '' if !defined $actual_val;
            Test::More::like($actual_val, qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

sub run_filter_helper ($$$) {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;

    if (ref $filter && ref $filter eq 'CODE') {
        return $filter->($content);
    }

    if (ref $filter) {
        bail_out("$name - the --- response_body_filters section only supports "
                 . "subroutine reference values and string values");
    }

    if ($filter eq 'md5_hex') {
        return Digest::MD5::md5_hex($content);
    } elsif ($filter eq 'sha1_hex') {
        require Digest::SHA;
        return Digest::SHA::sha1_hex($content);
    } elsif ($filter eq 'uc') {
        return uc $content;
    } elsif ($filter eq 'lc') {
        return lc $content;
    } elsif ($filter eq 'ucfirst') {
        return ucfirst $content;
    } elsif ($filter eq 'lcfirst') {
        return lcfirst $content;
    } elsif ($filter eq 'length') {
        return length $content;
    }

    bail_out("$name - unknown filter, \"$filter\", specified in the "
             . "--- response_body_filters section");
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;

    return if !defined $res;
    my $content = $res->content;
    return if !defined $content;

    my $filters = $block->response_body_filters;
    return if !defined $filters;

    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [ split /\s+/, $filters ];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [ $filters ];
    }

    my $filter = $filters;
    if (ref $filters->[0] && ref $filters->[0] eq 'ARRAY') {
        $filter = $filters->[$req_idx];
        if (!defined $filter) {
            bail_out("$name - the ---response_body_filters two-dimensional "
                     . "array unmatch the specified request($req_idx)");
        }
    }

    my $new = $content;
    if (ref $filter && ref $filter eq 'ARRAY') {
        $new = run_filter_helper($block, $_, $new) for @$filter;
    } else {
        $new = run_filter_helper($block, $filter, $new);
    }

    $res->content($new);
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. "
                             . "Use response_body eval instead.");
            $expected = eval get_indexed_value($name, $block->response_body_eval,
                                               $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }

        if ($block->charset) {
            require Encode;
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name);
        }

        if ($dry_run) {
            skip_or_fail("$name - response_body", $dry_run);

        } elsif (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $repeated_req_idx, req $req_idx)");

        } else {
            is_str($content, $expected,
                "$name - response_body - response is expected (repeated req $repeated_req_idx, req $req_idx)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($patterns, $type);
        if (defined $block->response_body_like) {
            $patterns = $block->response_body_like;
            $type = 'like';
        } else {
            $patterns = $block->response_body_unlike;
            $type = 'unlike';
        }

        my $content = $res ? $res->content : undef;
        if (defined $content) {
            $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
            $content =~ s/^Connection: TE, close\r\n//gms;
        }

        my $expected_pat = get_indexed_value($name, $patterns, $req_idx,
                                             $need_array);
        if (!ref $expected_pat) {
            $expected_pat =~ s/\$ServerPort\b/$ServerPort/g;
            $expected_pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $summary = trim($content);
        $summary = '' if !defined $summary;
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;

        if ($dry_run) {
            skip_or_fail("$name - response_body_$type", $dry_run);
        } elsif ($type eq 'like') {
            Test::More::like($content, qr/$expected_pat/s,
                "$name - response_body_like - response is expected ($summary)");
        } else {
            Test::More::unlike($content, qr/$expected_pat/s,
                "$name - response_body_unlike - response is expected ($summary)");
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx,
                 $repeated_req_idx, $dry_run);
    }
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    $str;
}

sub value_contains ($$);
sub value_contains ($$) {
    my ($val, $pat) = @_;
    return undef if !defined $val;
    if (!ref $val || ref $val eq 'Regexp') {
        return $val =~ /\Q$pat\E/;
    }
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }
    return undef;
}

sub _pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [ split /\n+/, $pats ];
    }
    if (ref $pats eq 'Regexp') {
        return [ $pats ];
    }
    return [ @$pats ];
}

sub _line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || (!ref $pat && $line =~ /\Q$pat\E/);
}

# the "must match" / "must not match" logic shared by error_log,
# access_log and shutdown_error_log
sub _check_log_patterns ($$$$$$) {
    my ($name, $what, $file, $pats, $lines, $opts) = @_;
    my ($dry_run, $negate, $suffix) = @$opts{qw(dry_run negate suffix)};
    $suffix = '' if !defined $suffix;

    $pats = _pattern_list($pats);

    if (!$negate) {
        my @pending = @$pats;
        for my $line (@$lines) {
            for my $pat (@pending) {
                next if !defined $pat;
                if (_line_matches($line, $pat)) {
                    if ($dry_run) {
                        skip_or_fail("$name - $what", $dry_run);
                    } else {
                        Test::More::pass("$name - pattern \"$pat\" matches a line in $file$suffix");
                    }
                    undef $pat;
                }
            }
        }
        for my $pat (@pending) {
            next if !defined $pat;
            if ($dry_run) {
                skip_or_fail("$name - $what", $dry_run);
            } else {
                Test::More::fail("$name - pattern \"$pat\" should match a line in $file$suffix");
            }
        }
        return;
    }

    my %found;
    my $i = 0;
    for my $line (@$lines) {
        for my $pat (@$pats) {
            next if !defined $pat;
            if (_line_matches($line, $pat)) {
                next if $found{$pat}++;   # report every pattern only once
                if ($dry_run) {
                    skip_or_fail("$name - $what", $dry_run);
                } else {
                    my $ln = fmt_str($line);
                    my $p = fmt_str($pat);
                    my @more_lines;
                    for (my $j = $i + 1; $j < min($i + 10, scalar @$lines); $j++) {
                        push @more_lines, $lines->[$j];
                    }
                    Test::More::fail("$name - pattern \"$p\" should not match any line in $file but matches line \"$ln\"$suffix\n"
                                     . join '', @more_lines);
                }
            }
        }
    } continue {
        $i++;
    }

    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        if ($dry_run) {
            skip_or_fail("$name - $what", $dry_run);
        } else {
            my $p = fmt_str($pat);
            Test::More::pass("$name - pattern \"$p\" does not match a line in $file$suffix");
        }
    }
}

sub check_access_log ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;

    if (defined $block->access_log) {
        $lines ||= $dry_run ? [] : access_log_data();
        my $pats = $block->access_log;
        _check_log_patterns($name, 'access_log', 'access.log',
                            $pats, $lines,
                            { dry_run => $dry_run,
                              suffix => " (req $repeated_req_idx)" });
    }

    if (defined $block->no_access_log) {
        $lines ||= $dry_run ? [] : access_log_data();
        my $pats = $block->no_access_log;
        _check_log_patterns($name, 'no_access_log', 'access.log',
                            $pats, $lines,
                            { dry_run => $dry_run, negate => 1,
                              suffix => " (req $repeated_req_idx)" });
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my ($check_alert, $check_crit, $check_emerg) = (1, 1, 1);

    my $grep_pat;
    my $grep_pats = $block->grep_error_log;
    if (defined $grep_pats) {
        if (ref $grep_pats && ref $grep_pats eq 'ARRAY') {
            $grep_pat = $grep_pats->[$repeated_req_idx];
        } else {
            $grep_pat = $grep_pats;
        }
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        if (!defined $expected) {
            bail_out("$name - No --- grep_error_log_out defined but "
                     . "--- grep_error_log is defined");
        }
        if (ref $expected && ref $expected eq 'ARRAY') {
            $expected = $expected->[$repeated_req_idx];
        }

        if ($dry_run) {
            skip_or_fail("$name - grep_error_log", $dry_run);
        } else {
            $lines ||= error_log_data();
            my $matched_lines = '';
            for my $line (@$lines) {
                if (ref $grep_pat && $line =~ /$grep_pat/
                    || !ref $grep_pat && $line =~ /\Q$grep_pat\E/)
                {
                    my $matched = $&;
                    if ($matched !~ /\n/) {
                        $matched_lines .= $matched . "\n";
                    }
                }
            }

            if (ref $expected && ref $expected eq 'Regexp') {
                Test::More::like($matched_lines, $expected,
                                 "$name - grep_error_log_out (req $repeated_req_idx)");
            } else {
                is_str($matched_lines, $expected,
                       "$name - grep_error_log_out (req $repeated_req_idx)");
            }
        }
    }

    for my $sec (qw(error_log no_error_log)) {
        my $pats = $block->$sec;
        next if !defined $pats;
        undef $check_alert if value_contains($pats, "[alert");
        undef $check_crit  if value_contains($pats, "[crit");
        undef $check_emerg if value_contains($pats, "[emerg");
        $lines ||= $dry_run ? [] : error_log_data();
        _check_log_patterns($name, $sec, 'error.log', $pats, $lines,
                            { dry_run => $dry_run,
                              negate => $sec eq 'no_error_log',
                              suffix => " (req $repeated_req_idx)" });
    }

    return if $dry_run;

    $lines ||= error_log_data();

    for my $line (@$lines) {
        if ($check_alert && $line =~ /\[alert\]/
            || $check_crit && $line =~ /\[crit\]/
            || $check_emerg && $line =~ /\[emerg\]/)
        {
            warn "WARNING: $name - ", fmt_str($line), "\n";
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            Test::More::fail("$name - $l");
        }
    }
}

sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines = $dry_run ? [] : error_log_data();

    if (defined $block->no_shutdown_error_log) {
        my $pats = $block->no_shutdown_error_log;
        _check_log_patterns($name, 'no_shutdown_error_log', 'error.log',
                            $pats, $lines,
                            { dry_run => $dry_run, negate => 1 });
    }

    if (defined $block->shutdown_error_log) {
        my $pats = $block->shutdown_error_log;
        _check_log_patterns($name, 'shutdown_error_log', 'error.log',
                            $pats, $lines,
                            { dry_run => $dry_run });
    }
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - bundled, Test::Nginx::Socket-compatible test scaffold

=head1 DESCRIPTION

A re-implementation of the block format, exported functions and sections of
OpenResty's L<Test::Nginx::Socket> so that the project's tests run without
the CPAN module installed.  See F<t/README.md> for the supported sections,
environment variables and the known differences.

=cut
