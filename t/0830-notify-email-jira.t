#!/usr/bin/perl
# 0830-notify-email-jira.t -- end to end: an alert made by 411d reaches a
# real SMTP server (Debian's aiosmtpd, t/lib/smtp_sink.py) through
# 411-notify --target email, and a JIRA stand-in (t/lib/jira_fake.py)
# through 411-notify --target jira; a create whose answer is lost is
# retried without a second issue; the results are on the alert's log.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use TestReceiver;
use TestPyHelper qw(wait_for slurp_json);

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no 411-notify' unless -x TestNotify::binary();
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no aiosmtpd for /usr/bin/python3'
    unless TestPyHelper::have_aiosmtpd();

my $J = JSON::PP->new->canonical;
my ($mdir, $mport) = TestPyHelper::start('smtp_sink.py');
my ($jdir, $jport) = TestPyHelper::start('jira_fake.py', 'SEC',
    'basic:bot:tok');

my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis,
    conf => "target mailx email\ntarget secj jira");
$d->start;
my $conf = <<"EOF";
retry_min 200ms
retry_max 1s
target mailx email url smtp://127.0.0.1:$mport from "411 <alerts\@example.com>" to oncall\@example.com subject "[411] {{search.name}} on {{alert.content.host}}"
target secj jira url http://127.0.0.1:$jport project SEC user bot token tok labels "security"
EOF
my $wm = TestNotify->new(redis => $redis, conf => $conf);
my $wj = TestNotify->new(redis => $redis, conf => $conf);
$wm->start(type => 'email', name => 'm1');
$wj->start(type => 'jira', name => 'j1');

my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'Root login',
    type => 'push', priority => 'high', fields => ['host', 'user'],
    targets => [{ target => "mailx" }, { target => "secj" }] });
is($st, 201, 'push search with email and jira targets') or diag explain $s;

# one alert: a mail and an issue
(undef, my $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ content => { host => 'web01', user => 'root <x@y>' } }]);
is($run->{alerts}, 1, 'one alert');
my $mail = wait_for(sub { slurp_json("$mdir/1.json") });
ok($mail, 'the SMTP server got a mail');
my %h = map { lc($_->[0]) => $_->[1] } @{$mail->{headers} || []};
is($h{subject}, '[411] Root login on web01', 'subject from the template');
is_deeply($mail->{rcpt_tos}, ['oncall@example.com'], 'to the recipient');
like($h{'message-id'} // '', qr/^<.+\@.+>$/, 'a Message-ID');
like($mail->{plain} // '', qr/web01/, 'the text part has the host');
like($mail->{html} // '', qr/root &lt;x\@y&gt;/, 'the HTML part escapes');

my $issues = wait_for(sub { my $i = slurp_json("$jdir/issues.json");
    $i && @$i ? $i : undef });
is(scalar @{$issues || []}, 1, 'JIRA has one issue');
my $iss = $issues->[0] || {};
is($iss->{fields}{project}{key}, 'SEC', '... in project SEC');
my @labels = @{$iss->{fields}{labels} || []};
ok((grep { $_ eq 'security' } @labels) && (grep { /^411-/ } @labels),
    '... labelled "security" and 411-<event id>');

# the results are on the alert's log
my ($aid) = map { $_->{id} } @{($d->api(GET =>
    "/api/v1/alerts?search=$s->{id}"))[1]{items}};
my $log = wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/alerts/$aid/log");
	my @n = grep { $_->{action} eq 'notify.delivered' } @{$l->{items}};
	@n >= 2 ? \@n : undef;
});
ok($log, 'both deliveries are on the alert log') or
    diag explain [$d->api(GET => "/api/v1/alerts/$aid/log")];
ok((grep { $J->encode($_) =~ /SEC-1/ } @{$log || []}),
    '... the JIRA one with the issue key');

# a create whose answer is lost: retried, found by its label, no second
open(my $c, '>', "$jdir/control.json") or die;
print $c $J->encode({ create => ['lost'] });
close($c);
(undef, $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ content => { host => 'web02', user => 'admin' } }]);
is($run->{alerts}, 1, 'a second alert');
my $two = wait_for(sub {
	my $res = $redis->cmd('XRANGE', '411:delivery', '-', '+');
	my @d = grep { my %f = @{$_->[1]}; $f{payload} =~ /"jira"/ &&
	    $f{payload} =~ /"delivered"/ } @$res;
	@d >= 2 ? \@d : undef;
}, 60);
ok($two, 'the second issue was delivered after a retry');
$issues = slurp_json("$jdir/issues.json") || [];
is(scalar @$issues, 2, 'JIRA has two issues in all: no duplicate');
my $retries = grep { my %f = @{$_->[1]}; $f{payload} =~ /"retrying"/ }
    @{$redis->cmd('XRANGE', '411:delivery', '-', '+')};
ok($retries >= 1, 'the lost answer was retried');

is($wm->stop, 0, 'email worker stops');
is($wj->stop, 0, 'jira worker stops');
$d->stop;
done_testing();
