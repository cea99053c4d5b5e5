package PrefsOpenAPI;

# The answers of a block suite checked against docs/openapi.yaml: a suite
# that calls openapi_responses() has every answer of its blocks checked, on
# top of what each block says, by
#
#   - the operation: the block's method and path (without the query) must
#     be an operation of the document (routes match without regard to case,
#     as the router matches them; a literal segment wins over a parameter;
#     HEAD is GET's), unless the answer is 404 or 405 (no such route);
#   - the status (the block's error_code, 200 by default) must be one of
#     that operation's responses;
#   - the body, when it has one and the response has a JSON schema, must be
#     valid against it (JSON::Validator, Debian's libjson-validator-perl).
#
# Blocks whose path is not under an API location of the document (a
# location of the test's own) are left alone; so is a block with
# "--- openapi_skip" (say why in the section).

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use YAML::XS ();

use PrefsTest ();

our @EXPORT = qw(openapi_responses openapi_check);

my ($Doc, $Validator, @Routes);

sub load {
    return if $Doc;
    my $top = $ENV{TEST_NGINX_PREFS_TOP} || '.';
    # true and false as JSON::PP's booleans, as the answers decode them
    local $YAML::XS::Boolean = 'JSON::PP';
    $Doc = YAML::XS::LoadFile("$top/docs/openapi.yaml");
    require JSON::Validator::Schema::OpenAPIv3;
    $Validator = JSON::Validator::Schema::OpenAPIv3->new($Doc);
    for my $t (keys %{ $Doc->{paths} }) {
        my @seg = split m{/}, $t;
        my $re = join '/', map { /^\{.*\}$/ ? '[^/]+' : quotemeta } @seg;
        push @Routes, { template => $t, re => qr/^$re$/i,
                        literal => scalar(grep { !/^\{/ } @seg), segs => scalar(@seg) };
    }
    # the router's rule: a literal segment wins over a parameter
    @Routes = sort { $b->{literal} <=> $a->{literal} || $a->{template} cmp $b->{template} } @Routes;
}

# the document's template of a request path, or undef
sub template {
    my ($method, $path) = @_;
    load();
    $path =~ s/\?.*//s;
    for my $r (@Routes) {
        next unless $path =~ $r->{re};
        my $ops = $Doc->{paths}{ $r->{template} };
        # a GET answers HEAD too
        return $r->{template} if $ops->{ lc $method } || ($method eq 'HEAD' && $ops->{get});
    }
    return undef;
}

# openapi_check($method, $path, $status, $body): '' when the answer is what
# the document says, else why not.  undef when the path is under no API
# location of the document.
sub openapi_check {
    my ($method, $path, $status, $body) = @_;
    load();
    (my $bare = $path) =~ s/\?.*//s;
    my $known = grep { $bare =~ m{^\Q$_\E}i } qw(/Profiles/v4/ /api/3/ /API/3/async/ /oauth/token /prefs/status);
    return undef unless $known;
    my $t = template($method, $path);
    if (!defined $t) {
        # a route that does not exist: the router's 404 or 405, nothing else
        return '' if $status == 404 || $status == 405;
        return "$method $bare answers $status, but is no operation of docs/openapi.yaml";
    }
    my $op = $Doc->{paths}{$t}{ lc $method } // $Doc->{paths}{$t}{get};
    my $res = $op->{responses}{$status} // $op->{responses}{ substr($status, 0, 1) . 'XX' }
              // $op->{responses}{default}
        or return "$status is not a documented answer of $method $t";
    return '' if $method eq 'HEAD' || !defined $body || $body eq '';
    if ($res->{'$ref'}) {
        (my $name = $res->{'$ref'}) =~ s{^#/components/responses/}{};
        $res = $Doc->{components}{responses}{$name};
    }
    return '' unless $res->{content} && $res->{content}{'application/json'};
    my $data = eval { JSON::PP->new->utf8->allow_nonref->decode($body) };
    return "the answer to $method $t is not JSON: $body" unless defined $data || $body eq 'null';
    # the response objects are often $refs, which validate_response does
    # not follow: the body's schema is taken here and validated alone
    my @errors = $Validator->validate($data, $res->{content}{'application/json'}{schema});
    return '' unless @errors;
    return "the $status answer to $method $t does not fit docs/openapi.yaml: "
           . join('; ', map { "$_" } @errors);
}

# openapi_responses(): check every answer of the suite's blocks.
my $Installed;

sub openapi_responses {
    return if $Installed++;
    require Test::More;
    Test::Nginx::Socket::add_response_body_check(sub {
        my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
        return if $dry_run || defined PrefsTest::section($block, 'openapi_skip')
                  || defined PrefsTest::section($block, 'error_code_like');
        my $req = PrefsTest::section($block, 'request');
        $req = $req->[$req_idx] if ref $req eq 'ARRAY';
        $req = $$req if ref $req eq 'SCALAR';
        return unless defined $req && $req =~ m{^\s*([A-Z]+)\s+(\S+)};
        my ($method, $path) = ($1, $2);
        my $code = PrefsTest::section($block, 'error_code') // 200;
        $code = $code->[$req_idx] if ref $code eq 'ARRAY';
        my $why = openapi_check($method, $path, $code, $body);
        return unless defined $why;
        Test::More::is($why, '', $block->name . " - openapi");
    });
}

1;
