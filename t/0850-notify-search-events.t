#!/usr/bin/perl
# 0850-notify-search-events.t -- search.failed / search.recovered reach
# the targets of the search (issue 11, defect 8), end to end: a fake
# Elasticsearch answers 503, 411d announces search.failed and writes a
# delivery job per target, 411-notify delivers it -- the webhook gets the
# event, an Alertmanager-format webhook a firing alert labelled
# four11_event="search.failed" with externalURL the base_url, PagerDuty a
# trigger keyed 411/<instance>/search/<id>; the search runs again:
# search.recovered, a resolved alert (same fingerprint) and a resolve of
# the same dedup_key.  Mail (a real SMTP server, t/lib/smtp_sink.py): a
# "search failed" and a "recovered" mail, whatever the target's subject
# template; JIRA (t/lib/jira_fake.py): an issue for the failure, the
# recovery "skipped"; Slack: two messages.  A second failure within
# failure_event_every reaches no target, as it reaches no event stream.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use Test411;
use TestRedis;
use TestReceiver;
use FakeES;
use TestPyHelper qw(slurp_json);

my $nbin = TestNotify::binary();
plan skip_all => "no 411-notify at $nbin" unless -x $nbin;
plan skip_all => "no 411d" unless -x Test411::binary();
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;
plan skip_all => 'no aiosmtpd for /usr/bin/python3'
    unless TestPyHelper::have_aiosmtpd();

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $hook = TestReceiver->new(kind => 'webhook');
my $pd = TestReceiver->new(kind => 'pagerduty');
my $slack = TestReceiver->new(kind => 'slack');
my ($mdir, $mport) = TestPyHelper::start('smtp_sink.py');
my ($jdir, $jport) = TestPyHelper::start('jira_fake.py', 'SEC',
    'basic:bot:tok');
my $es = FakeES->new(flavour => 'es7');
my $base = 'https://console.example:8443/411';

sub wait_for {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout || 30);
	my $v;
	while (!($v = $cond->()) && time < $deadline) {
		sleep(0.1);
	}
	return $v;
}

sub bodies {
	my ($rc, $path) = @_;
	return map { my $b = eval { $J->decode($_->{body}) } || {};
	    +{ %$_, json => $b } } grep { $_->{path} eq $path } $rc->requests;
}

my $d = Test411->new(redis => $redis, es => $es, conf => <<"EOF");
failure_event_every 1h
base_url $base
target hook webhook
target am webhook
target oncall pagerduty
target mailx email
target secj jira
target chat slack
EOF
$d->start;
my $conf = <<"EOF";
retry_min 100ms
retry_max 1s
target hook webhook url @{[$hook->url]}/hook
target am webhook url @{[$hook->url]}/am format alertmanager
target oncall pagerduty routing_key K0123456789 url @{[$pd->url]}/v2/enqueue
target mailx email url smtp://127.0.0.1:$mport from a\@example.com to oncall\@example.com subject "[411] {{alert.content.host}}" body "host {{alert.content.host}}"
target secj jira url http://127.0.0.1:$jport project SEC user bot token tok summary "{{alert.content.host}}"
target chat slack url @{[$slack->url]}/services/T/B/x
EOF
my %w;
for my $type (qw(webhook pagerduty email jira slack)) {
	$w{$type} = TestNotify->new(redis => $redis, conf => $conf);
	$w{$type}->start(type => $type, name => "w-$type");
}

# the search fails once (503), then runs again
$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'cluster overloaded', times => 1 }]);
my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'auth failures', priority => 'critical', result => 'count',
    threshold => [1000000, undef], schedule => { every => '1h' },
    range => '1h',
    enabled => JSON::PP::true, targets => [map { { target => $_ } }
    qw(hook am oncall mailx secj chat)]));
is($st, 201, 'a scheduled search with six targets') or diag explain $s;
my $id = $s->{id};

# search.failed
ok($hook->wait_requests(sub { grep { $_->{path} eq '/hook' } @_ }, 60),
    'the webhook got a request');
my ($f) = bodies($hook, '/hook');
is($f->{json}{event_type}, 'search.failed', '... search.failed');
is($f->{headers}{'x-411-event'}, 'search.failed', '... X-411-Event');
is($f->{json}{search}{id}, $id, '... naming the search');
like($f->{json}{error}{message} // '', qr/503/, '... with the error');
is($f->{headers}{'idempotency-key'}, $f->{json}{event_id},
    '... keyed by the event id');
my $inst = $f->{json}{producer}{instance};
ok($inst, "... from instance $inst");
is($f->{json}{producer}{base_url}, $base, '... whose base_url it carries');

ok($hook->wait_requests(sub { grep { $_->{path} eq '/am' } @_ }, 30),
    'the Alertmanager webhook got a request');
my ($am) = bodies($hook, '/am');
my $a0 = $am->{json}{alerts}[0] // {};
is($am->{json}{status}, 'firing', '... status firing');
is($a0->{labels}{alertname}, 'auth failures', '... alertname the search');
is($a0->{labels}{four11_event}, 'search.failed',
    '... labelled four11_event=search.failed');
is($a0->{labels}{severity}, 'critical', '... severity');
like($a0->{annotations}{description} // '', qr/503/, '... the error');
is($am->{json}{externalURL}, $base, '... externalURL: 411d\'s base_url');
is($am->{json}{groupKey}, "{}:{search_id=\"$id\"}", '... groupKey');
is($am->{json}{commonLabels}{four11_event}, 'search.failed',
    '... commonLabels of its one alert');

ok($pd->wait_requests(1, 30), 'PagerDuty got a request');
my ($trig) = map { $J->decode($_->{body}) } $pd->requests;
is($trig->{event_action}, 'trigger', '... a trigger');
is($trig->{dedup_key}, "411/$inst/search/$id",
    '... keyed 411/<instance>/search/<id>');
is($trig->{routing_key}, 'K0123456789', '... with the routing key');
is($trig->{payload}{severity}, 'critical', '... severity');

# search.recovered
ok($hook->wait_requests(sub { (grep { $_->{path} eq '/hook' } @_) >= 2 },
    60), 'the webhook got a second request');
my (undef, $r) = bodies($hook, '/hook');
is($r->{json}{event_type}, 'search.recovered', '... search.recovered');
ok($hook->wait_requests(sub { (grep { $_->{path} eq '/am' } @_) >= 2 },
    30), 'the Alertmanager webhook too');
my (undef, $amr) = bodies($hook, '/am');
my $a1 = $amr->{json}{alerts}[0] // {};
is($amr->{json}{status}, 'resolved', '... status resolved');
is($a1->{status}, 'resolved', '... its alert resolved');
is($a1->{fingerprint}, $a0->{fingerprint}, '... the same alert');
isnt($a1->{endsAt}, '0001-01-01T00:00:00Z', '... with endsAt');
ok($pd->wait_requests(2, 30), 'PagerDuty got a second request');
my (undef, $res) = map { $J->decode($_->{body}) } $pd->requests;
is($res->{event_action}, 'resolve', '... a resolve');
is($res->{dedup_key}, $trig->{dedup_key}, '... of the same dedup_key');

# mail, jira, slack
my $m1 = wait_for(sub { slurp_json("$mdir/1.json") });
my $m2 = wait_for(sub { slurp_json("$mdir/2.json") });
my %h1 = map { lc($_->[0]) => $_->[1] } @{$m1->{headers} || []};
my %h2 = map { lc($_->[0]) => $_->[1] } @{$m2->{headers} || []};
is_deeply([sort ($h1{subject} // '', $h2{subject} // '')],
    ['[411] search auth failures failed',
    '[411] search auth failures recovered'],
    'email: a failed and a recovered mail, not the alert subject template');
my ($fm) = grep { ($_->{plain} // '') =~ /failed/ } $m1, $m2;
like($fm->{plain} // '', qr/503/, '... the failure mail has the error');
my $issues = wait_for(sub { my $i = slurp_json("$jdir/issues.json");
    $i && @$i ? $i : undef });
is(scalar @{$issues || []}, 1, 'jira: one issue');
is($issues->[0]{fields}{summary}, '[411] search auth failures failed',
    '... for the failure, not from the alert summary template');
ok($slack->wait_requests(2, 30), 'slack: two messages');
my @sl = map { $J->decode($_->{body})->{text} } $slack->requests;
like($sl[0] // '', qr/search failed: auth failures/, '... the failure');
like($sl[1] // '', qr/search recovered: auth failures/, '... the recovery');

# results on 411:delivery
sub sresults {
	return grep { ($_->{event_type} // '') =~ /^search\./ }
	    map { my %x = @{$_->[1]}; $J->decode($x{payload}) }
	    @{$redis->cmd('XRANGE', '411:delivery', '-', '+')};
}
ok(wait_for(sub { (grep { $_->{result} eq 'delivered' } sresults()) == 11 &&
    (grep { $_->{result} eq 'skipped' } sresults()) == 1 }, 30),
    '411:delivery: 11 delivered (2 events x 6 targets, but one), 1 skipped');
my ($sk) = grep { $_->{result} eq 'skipped' } sresults();
is($sk->{target}{name}, 'secj', '... the skipped one: jira\'s');
is($sk->{event_type}, 'search.recovered', '... search.recovered');
like($sk->{error} // '', qr/files no issue/, '... saying why');
like($w{jira}->log, qr/skipped: jira: search\.recovered/,
    '... and the jira worker logs it');

# fails again within failure_event_every: no event, no delivery
$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'overloaded a second time', times => 1 }]);
$d->api(PATCH => "/api/v1/searches/$id", { schedule => { every => '2s' },
    range => '2s' });
sub jobs {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$id/jobs?limit=1000");
	return @{$l->{items} // []};
}
ok($d->wait_for(sub {
	grep { ($_->{error} // '') =~ /second time/ } jobs() }, 30),
    'the search failed again');
ok($d->wait_for(sub { (jobs())[0]{state} eq 'success' }, 30),
    '... and runs again');
sleep 2;
is(scalar(grep { $_->{path} eq '/hook' } $hook->requests), 2,
    'within failure_event_every: nothing more for the webhook');
is(scalar($pd->requests), 2, '... nor for PagerDuty');
is(scalar($slack->requests), 2, '... nor for Slack');
ok(!-e "$mdir/3.json", '... nor a mail');
is(scalar(grep { $_->{type} eq 'search.failed' }
    map { +{ @{$_->[1]} } } @{$redis->cmd('XRANGE', '411:notify:webhook',
    '-', '+')}), 2, '... no new job: two search.failed jobs in all (hook, am)');

is($w{$_}->stop, 0, "the $_ worker stops") for sort keys %w;
is($d->stop, 0, '411d stops');
done_testing();
