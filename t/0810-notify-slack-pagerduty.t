#!/usr/bin/perl
# 0810-notify-slack-pagerduty.t -- the slack and pagerduty targets of
# 411-notify against local receivers that answer as Slack's incoming
# webhooks and PagerDuty's Events API v2 do (WIRE.md 7.4, 7.5): the
# message, Slack's plain-text errors (404 channel_not_found is final,
# 429 with Retry-After is retried), the PagerDuty trigger with a stable
# dedup_key and the severity from the priority, its 400 (final), and end
# to end through 411d: an alert resolved in 411d resolves its incident.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use Test411;
use TestRedis;
use TestReceiver;

my $nbin = TestNotify::binary();
plan skip_all => "no 411-notify at $nbin" unless -x $nbin;
plan skip_all => "no 411d" unless -x Test411::binary();
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $slack = TestReceiver->new(kind => 'slack');
my $pd = TestReceiver->new(kind => 'pagerduty');
my $key = 'R0UT1NGKEY0123456789abcdefABCDEF';
my $conf = <<"EOF";
retry_min 200ms
retry_max 2s
retries 3
target chat slack url @{[$slack->url]}/services/T1/B2/xyz channel "#sec" username four11
target oncall pagerduty routing_key $key url @{[$pd->url]}/v2/enqueue
EOF

sub wait_for {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout || 30);
	my $v;
	while (!($v = $cond->()) && time < $deadline) {
		sleep(0.1);
	}
	return $v;
}

sub job {
	my ($type, $eid, $etype, $target, %o) = @_;
	my $p = { schema => '411.event.v1', event_id => $eid,
	    event_type => $etype, occurred_at => '2026-11-25T10:00:05Z',
	    producer => { instance => 'prod1', version => '0' },
	    search => { id => 3, name => 'Disk <full> & more',
		priority => $o{priority} // 'high', category => 'ops' },
	    alert => { id => $o{alert} // 55, time => '2026-11-25T10:00:00Z',
		state => $etype eq 'alert.resolved' ? 'resolved' : 'new',
		priority => $o{priority} // 'high',
		content => { host => 'db1', pct => 97 } },
	    links => { alert => 'http://411.example/#/alerts/55',
		source => 'http://kibana.example/y' },
	    target => { name => $target, type => $type } };
	$redis->cmd('XADD', "411:notify:$type", '*', 'v', '1', 'type',
	    $etype, 'id', $eid, 'payload', $J->encode($p));
}

sub results {
	my ($eid) = @_;
	my $r = $redis->cmd('XRANGE', '411:delivery', '-', '+');
	return grep { $_->{event_id} eq $eid }
	    map { my %f = @{$_->[1]}; $J->decode($f{payload}) } @$r;
}

sub final {
	my ($eid) = @_;
	return wait_for(sub { my @r = grep { $_->{result} ne 'retrying' }
	    results($eid); $r[0] });
}

my $ws = TestNotify->new(redis => $redis, conf => $conf);
$ws->start(type => 'slack', name => 's1');
my $wp = TestNotify->new(redis => $redis, conf => $conf);
$wp->start(type => 'pagerduty', name => 'p1');

# slack: the message
job('slack', 's-1', 'alert.created', 'chat');
my @req = $slack->wait_requests(1);
is(scalar @req, 1, 'slack: one request');
is($req[0]{path}, '/services/T1/B2/xyz', '... to the incoming webhook');
my $m = $J->decode($req[0]{body});
like($m->{text}, qr/\[411 high\]/, '... the priority');
like($m->{text}, qr/Disk &lt;full&gt; &amp; more/,
    '... the search name, escaped for Slack');
like($m->{text}, qr/\*host\*: db1/, '... the key fields');
like($m->{text}, qr/\*pct\*: 97/, '... numbers too');
like($m->{text}, qr{<http://411.example/#/alerts/55\|alert>}, '... the alert link');
like($m->{text}, qr{<http://kibana.example/y\|source>}, '... the source link');
is($m->{channel}, '#sec', '... the channel option');
is($m->{username}, 'four11', '... the username option');
is(final('s-1')->{result}, 'delivered', '... delivered ("ok")');

# slack: 429 with Retry-After is retried, 404 channel_not_found is final
$slack->set(fail => 1, status => 429, retry_after => 1);
job('slack', 's-2', 'alert.created', 'chat');
is(final('s-2')->{result}, 'delivered', 'slack 429: delivered later');
my ($retry) = grep { $_->{result} eq 'retrying' } results('s-2');
like($retry->{error} // '', qr/slack: HTTP 429: rate_limited/,
    '... Slack\'s error string in the result');
$slack->set(fail => 1, status => 404);
job('slack', 's-3', 'alert.created', 'chat');
my $f = final('s-3');
is($f->{result}, 'dead', 'slack 404: dead without retrying');
like($f->{error}, qr/channel_not_found/, '... channel_not_found');
is($f->{attempt}, 1, '... after one try');
$slack->set(fail => 1, status => 500);
job('slack', 's-4', 'alert.created', 'chat');
is(final('s-4')->{result}, 'delivered', 'slack 500 rollup_error: retried');

# pagerduty: trigger
job('pagerduty', 'p-1', 'alert.created', 'oncall');
@req = $pd->wait_requests(1);
my $e = $J->decode($req[0]{body});
is($req[0]{path}, '/v2/enqueue', 'pagerduty: Events API v2');
is($e->{routing_key}, $key, '... the routing key');
is($e->{event_action}, 'trigger', '... a trigger');
is($e->{dedup_key}, '411/prod1/alert/55', '... dedup_key: the alert\'s stable id');
is($e->{payload}{severity}, 'error', '... severity error for high');
like($e->{payload}{summary}, qr/^Disk <full> & more: /, '... summary');
is($e->{payload}{source}, 'prod1', '... source');
is($e->{payload}{timestamp}, '2026-11-25T10:00:00Z', '... timestamp');
is_deeply($e->{payload}{custom_details}, { host => 'db1', pct => 97 },
    '... the alert content as custom_details');
is($e->{client_url}, 'http://411.example/#/alerts/55', '... client_url');
$f = final('p-1');
is($f->{result}, 'delivered', '... delivered (202)');
is($f->{reference}, '411/prod1/alert/55', '... reference: the dedup_key');
job('pagerduty', 'p-2', 'alert.created', 'oncall', priority => 'critical',
    alert => 56);
@req = $pd->wait_requests(2);
is($J->decode($req[1]{body})->{payload}{severity}, 'critical',
    'critical stays critical');
job('pagerduty', 'p-3', 'alert.created', 'oncall', priority => 'low',
    alert => 57);
@req = $pd->wait_requests(3);
is($J->decode($req[2]{body})->{payload}{severity}, 'info', 'low is info');
# resolve
job('pagerduty', 'p-4', 'alert.resolved', 'oncall');
@req = $pd->wait_requests(4);
$e = $J->decode($req[3]{body});
is_deeply($e, { routing_key => $key, dedup_key => '411/prod1/alert/55',
    event_action => 'resolve' }, 'alert.resolved: a resolve of the same key');
# 400 is final, 429 retried
$pd->set(fail => 1, status => 400);
job('pagerduty', 'p-5', 'alert.created', 'oncall', alert => 58);
$f = final('p-5');
is($f->{result}, 'dead', 'pagerduty 400: dead');
like($f->{error}, qr/invalid event/, '... PagerDuty\'s words');
$pd->set(fail => 1, status => 429);
job('pagerduty', 'p-6', 'alert.created', 'oncall', alert => 59);
is(final('p-6')->{result}, 'delivered', 'pagerduty 429: retried, delivered');
my @p6 = grep { $J->decode($_->{body})->{dedup_key} eq '411/prod1/alert/59' }
    $pd->requests;
is(scalar @p6, 2, '... two tries with the same dedup_key');

# end to end: 411d alert -> trigger; resolved in 411d -> resolve
my $d = Test411->new(redis => $redis,
    conf => "target oncall pagerduty\ntarget chat slack");
$d->start;
my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'e2e',
    type => 'push', priority => 'medium', fields => ['host'],
    targets => [{ target => 'oncall' }, { target => 'chat' }] });
is($st, 201, 'push search with pagerduty and slack targets')
    or diag explain $s;
(undef, my $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ time => '2026-11-25T11:00:00Z', content => { host => 'e2e-host' } }]);
is($run->{alerts}, 1, 'one alert');
my ($trig) = grep { $_->{body} =~ /e2e-host/ } $pd->wait_requests(sub {
    grep { $_->{body} =~ /e2e-host/ } @_ });
ok($trig, 'pagerduty got the trigger from 411d');
my $te = $trig ? $J->decode($trig->{body}) : {};
is($te->{payload}{severity}, 'warning', '... medium is warning');
like($te->{dedup_key} // '', qr{^411/[^/]+/alert/\d+$},
    '... keyed by instance and alert id');
ok($slack->wait_requests(sub { grep { $_->{body} =~ /e2e-host/ } @_ }),
    'slack got it too');
my ($aid) = ($te->{dedup_key} // '') =~ m{/(\d+)$};
($st, my $ar) = $d->api(POST => '/api/v1/alerts/actions', { ids => [$aid + 0],
    action => 'resolve', resolution => 'action_taken' });
is($st, 200, 'the alert is resolved in 411d') or diag explain $ar;
my $res = wait_for(sub { my @r = grep { my $j = $J->decode($_->{body});
    ($j->{event_action} // '') eq 'resolve' &&
    $j->{dedup_key} eq $te->{dedup_key} } $pd->requests; $r[0] });
ok($res, '... and PagerDuty gets a resolve of the same dedup_key');
is(scalar(grep { $_->{body} =~ /e2e-host/ } $slack->requests), 1,
    '... Slack is not told again');
$d->stop;
is($ws->stop, 0, 'slack worker stops');
is($wp->stop, 0, 'pagerduty worker stops');
done_testing();
