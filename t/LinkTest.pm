# What the suites of per-profile links (t/220-t/229) prepare, before
# run_tests(), through PrefsTest::api_request: a profile, a link.
package LinkTest;
use strict;
use warnings;
use JSON::PP;
use PrefsTest;
use Exporter 'import';
our @EXPORT_OK = qw(link_profile link_make);

# link_profile($clientId, $email): a new profile of the account (its admin
# user makes it); its id
sub link_profile {
    my ($client, $email) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', 'Profile',
        { CustomFields => [ { Name => 'FavoriteCategory', Value => 'Toys' } ],
          Emails => [ { EmailAddress => $email, EmailAddressType => 'Personal', IsDefault => JSON::PP::true() } ] });
    die "preparing a profile: $st $raw\n" unless $st == 201;
    return $j->{ProfileId};
}

# link_make($clientId, $profileId[, @scopes]): a link made by POST
# Profile/{id}/Links (preferences:read by default); its token
sub link_make {
    my ($client, $pid, @scopes) = @_;
    my ($st, undef, $j, $raw) = PrefsTest::api_request($client, 'admin', 'POST', "Profile/$pid/Links",
        { Scopes => @scopes ? \@scopes : ['preferences:read'] });
    die "preparing a link: $st $raw\n" unless $st == 201;
    return $j->{Token};
}

1;
