#!/usr/bin/perl
# 0800-notify-webhook.t -- 411-notify --target webhook against a local
# receiver: the event as the JSON body with Idempotency-Key and an
# HMAC-SHA256 signature, the Alertmanager v4 body (firing and resolved),
# results on 411:delivery, bad target configs refused by -n, and end to
# end: a push run's alert -> delivery job -> worker -> receiver, and the
# result back on the alert's log in 411d.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Time::HiRes qw(sleep time);
use Test411;
use TestRedis;
use TestReceiver;

my $nbin = TestNotify::binary();
plan skip_all => "no 411-notify at $nbin" unless -x $nbin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $rc = TestReceiver->new(kind => 'webhook');
my $url = $rc->url;

sub job {
	my ($eid, $type, $target, %o) = @_;
	my $p = {
		schema => '411.event.v1', event_id => $eid,
		event_type => $type, occurred_at => '2026-11-25T10:00:05Z',
		producer => { instance => 'test', version => '0' },
		search => { id => 7, name => 'SSH brute force',
		    priority => 'high', category => 'security',
		    tags => ['ssh'], owner => 'alice' },
		alert => { id => $o{alert_id} // 41, search_id => 7,
		    time => '2026-11-25T10:00:00Z',
		    created => '2026-11-25T10:00:01Z',
		    updated => '2026-11-25T10:05:00Z',
		    state => $o{state} // 'new', priority => 'high',
		    content => { host => 'web01', user => 'root' },
		    content_hash => 'sha256:' . ('ab' x 32) },
		links => { alert => 'http://411.example/#/alerts/41',
		    source => 'http://kibana.example/x' },
		target => { name => $target, type => 'webhook',
		    params => {} },
	};
	my $pj = $J->encode($p);
	$redis->cmd('XADD', '411:notify:webhook', '*', 'v', '1', 'type',
	    $type, 'id', $eid, 'payload', $pj);
	return ($p, $pj);
}

sub wait_for {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout || 20);
	my $v;
	while (!($v = $cond->()) && time < $deadline) {
		sleep(0.1);
	}
	return $v;
}

sub results {
	my $r = $redis->cmd('XRANGE', '411:delivery', '-', '+');
	return map { my %f = @{$_->[1]}; $J->decode($f{payload}) } @$r;
}

# -n: good and bad configs
my $w = TestNotify->new(redis => $redis, conf => <<"EOF");
retry_min 100ms
retry_max 1s
retries 3
claim_idle 2s
target hook webhook url $url/hook secret s3cr3t timeout 5s
target am webhook url $url/am format alertmanager
EOF
my ($ec, $out) = $w->check;
is($ec, 0, '-n: a good config passes') or diag $out;
like($out, qr/configuration OK/, '... and says so');
for my $bad (
    ['target x webhook secret s', qr/:1: target x: option url is required/],
    ['target x webhook url ftp://h/', qr/:1: target x: url: want http/],
    ['target x webhook url http://h/ colour red', qr/unknown option "colour"/],
    ['target x webhook url http://h/ format xml', qr/format: want json or alertmanager/],
    ['target x webhook url http://h/ batch 0', qr/batch: want a number/],
    ['target x webhook url http://h/ timeout soon', qr/timeout: bad duration/],
    ['target x carrier-pigeon url http://h/', qr/unknown type "carrier-pigeon"/],
    ['target x slack', qr/target x: option url is required/],
    ['target x pagerduty url http://h/', qr/option routing_key is required/],
    ['retries 0', qr/retries: bad number/],
    ['claim_idle never', qr/claim_idle: bad duration/]) {
	my $b = TestNotify->new(conf => $bad->[0]);
	open(my $fh, '>', $b->conffile) or die;
	print $fh "$bad->[0]\n";
	close($fh);
	my $o = `$nbin -n -c @{[$b->conffile]} 2>&1`;
	isnt($? >> 8, 0, "-n refuses: $bad->[0]");
	like($o, $bad->[1], '... saying why') or diag $o;
}

# the plain webhook
$w->start(type => 'webhook', name => 'w1');
my ($p, $pj) = job('ev-1', 'alert.created', 'hook');
my @req = $rc->wait_requests(1);
is(scalar @req, 1, 'one request to the receiver');
my $r = $req[0];
is($r->{path}, '/hook', 'at the target\'s url');
is($r->{method}, 'POST', 'a POST');
is($r->{headers}{'content-type'}, 'application/json', 'JSON');
is($r->{headers}{'idempotency-key'}, 'ev-1', 'Idempotency-Key is the event id');
is($r->{headers}{'x-411-event'}, 'alert.created', 'X-411-Event');
is($r->{headers}{'x-411-signature'},
    'sha256=' . hmac_sha256_hex($r->{body}, 's3cr3t'),
    'X-411-Signature is the HMAC-SHA256 of the body with the secret');
like($r->{headers}{'user-agent'}, qr{^411-notify/}, 'User-Agent');
is_deeply($J->decode($r->{body}), $p, 'the body is the event');

my $ok = wait_for(sub {
	grep { $_->{result} eq 'delivered' } results() }, 20);
my ($res) = grep { $_->{result} eq 'delivered' } results();
ok($res, 'a "delivered" result on 411:delivery');
is($res->{event_id}, 'ev-1', '... for the event');
is($res->{target}{name}, 'hook', '... naming the target');
is($res->{attempt}, 1, '... first try');
is_deeply($res->{alert_ids}, [41], '... with the alert id');
ok(wait_for(sub {
	my $x = $redis->cmd('XPENDING', '411:notify:webhook', 'webhook');
	$x->[0] == 0 }, 20), 'the job is acknowledged');

# alertmanager format: firing, then resolved
job('ev-2', 'alert.created', 'am');
@req = $rc->wait_requests(2);
my $am = $J->decode($req[1]{body});
is($req[1]{path}, '/am', 'the alertmanager target');
is($am->{version}, '4', 'version "4"');
is($am->{status}, 'firing', 'status firing');
is($am->{receiver}, 'am', 'receiver: the target name');
like($am->{groupKey}, qr/search_id="7"/, 'groupKey by search');
is(scalar @{$am->{alerts}}, 1, 'one alert');
my $a0 = $am->{alerts}[0];
is($a0->{status}, 'firing', 'the alert fires');
is($a0->{labels}{alertname}, 'SSH brute force', 'alertname label');
is($a0->{labels}{host}, 'web01', 'content fields as labels');
is($a0->{labels}{severity}, 'high', 'severity label');
is($a0->{annotations}{summary}, 'SSH brute force', 'summary annotation');
is($a0->{startsAt}, '2026-11-25T10:00:00Z', 'startsAt: the alert time');
is($a0->{endsAt}, '0001-01-01T00:00:00Z', 'endsAt: zero while firing');
is($a0->{fingerprint}, 'ab' x 8, 'fingerprint from the content hash');
is($a0->{generatorURL}, 'http://kibana.example/x', 'generatorURL');
ok(!defined $req[1]{headers}{'x-411-signature'}, 'no secret, no signature');
job('ev-3', 'alert.resolved', 'am', state => 'resolved');
@req = $rc->wait_requests(3);
$am = $J->decode($req[2]{body});
is($am->{status}, 'resolved', 'alert.resolved: status resolved');
is($am->{alerts}[0]{endsAt}, '2026-11-25T10:05:00Z', '... endsAt set');
is($am->{alerts}[0]{fingerprint}, 'ab' x 8, '... same fingerprint');

# a job for a target this worker does not know: dead at once
job('ev-4', 'alert.created', 'nosuch');
ok(wait_for(sub {
	@{$redis->cmd('XRANGE', '411:notify:dead', '-', '+')} == 1 }, 20),
    'a job for an unknown target is dead-lettered');
my $dead = $redis->cmd('XRANGE', '411:notify:dead', '-', '+');
my %df = @{$dead->[0][1]};
is($df{id}, 'ev-4', '... with its event id');
like($df{error}, qr/unknown target "nosuch"/, '... and the reason');
is(scalar($rc->requests), 3, '... and nothing sent');
is($w->stop, 0, 'SIGTERM: the worker exits 0');
like($w->log, qr/stopped/, '... after a clean stop');

# batch 3: the jobs of a target gathered into {"events": [...]}
job("b-$_", 'alert.created', 'many') for 1 .. 5;
my $wb = TestNotify->new(redis => $redis, conf => "retry_min 100ms\n" .
    "target many webhook url $url/many batch 3 batch_wait 300ms secret b\n");
$wb->start(type => 'webhook', name => 'wb');
sub batch_events {
	my %seen;
	for my $q (grep { $_->{path} eq '/many' } @_) {
		my $b = eval { $J->decode($q->{body}) } || {};
		$seen{$_->{event_id}}++ for @{$b->{events} || []};
	}
	return %seen;
}
my @breq = $rc->wait_requests(sub { my %e = batch_events(@_); keys %e >= 5 });
my %be = batch_events(@breq);
is_deeply(\%be, { map { ("b-$_" => 1) } 1 .. 5 },
    'batch: every event sent once, in {"events": [...]}');
my @mb = grep { $_->{path} eq '/many' } @breq;
my $bad = 0;
for my $q (@mb) {
	my $n = scalar @{($J->decode($q->{body}))->{events}};
	my @ids = map { $_->{event_id} } @{($J->decode($q->{body}))->{events}};
	$bad++ if $n > 3 || $q->{headers}{'x-411-batch'} != $n ||
	    $q->{headers}{'x-411-signature'} ne
	    'sha256=' . hmac_sha256_hex($q->{body}, 'b') ||
	    $q->{headers}{'idempotency-key'} ne ($n == 1 ? $ids[0] :
	    'batch-' . sha256_hex(join('', map { "$_\n" } @ids)));
}
is($bad, 0, '... at most 3 a request, X-411-Batch, signature, key per batch');
ok(wait_for(sub { scalar(grep { $_->{result} eq 'delivered' &&
    $_->{event_id} =~ /^b-/ } results()) == 5 }),
    '... a "delivered" result for each event');
is($wb->stop, 0, '... and the worker stops cleanly');

# end to end: 411d makes an alert in a push run, the worker delivers it,
# 411d writes the result on the alert's log
my $d = Test411->new(redis => $redis);
$d->start;
my $w2 = TestNotify->new(redis => $redis, conf =>
    "target soc-webhook webhook url $url/e2e secret k\nretry_min 100ms\n");
$w2->start(type => 'webhook', name => 'e2e');
my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'ids',
    type => 'push', priority => 'high', fields => ['host', 'sig'],
    targets => [{ target => 'soc-webhook' }] });
is($st, 201, 'push search created') or diag explain $s;
($st, my $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ time => '2026-11-25T10:00:00Z', content => { host => 'h1',
    sig => 'ET SCAN' } }]);
is($run->{alerts}, 1, 'the run made one alert');
@req = $rc->wait_requests(sub { grep { $_->{path} eq '/e2e' } @_ }, 30);
my ($e2e) = grep { $_->{path} eq '/e2e' } @req;
ok($e2e, 'the receiver got the alert from 411d');
my $body = $e2e ? $J->decode($e2e->{body}) : {};
is($body->{event_type}, 'alert.created', '... an alert.created event');
is($body->{alert}{content}{host}, 'h1', '... with the alert');
is($e2e->{headers}{'idempotency-key'}, $body->{event_id},
    '... keyed by the event id');
my $aid = $body->{alert}{id};
my $log = $d->wait_for(sub {
	my ($lst, $l) = $d->api(GET => "/api/v1/alerts/$aid/log");
	my @e = grep { ($_->{action} // '') eq 'notify.delivered' }
	    @{$l->{items} || []};
	@e ? $e[0] : undef }, 30);
ok($log, 'the alert\'s log in 411d has the delivery') or
    diag explain [$d->api(GET => "/api/v1/alerts/$aid/log")];
is($log->{target}, 'soc-webhook', '... naming the target') if $log;
like($log->{note} // '', qr/delivered to soc-webhook \(webhook\), try 1/,
    '... in words');
ok(wait_for(sub {
	my $x = $redis->cmd('XPENDING', '411:delivery', '411d');
	$x->[0] == 0 }, 20), '411d acknowledged the result');

# the example subscribers of contrib/ (E2)
my $src = Test411::srcdir();
my $sock = $redis->socket;
my $outs = `timeout 60 perl $src/contrib/subscriber-stream -s $sock -g t1 -c me -n 1`;
my $ev = eval { $J->decode((split /\n/, $outs)[0]) } || {};
is($ev->{type}, 'alert.created', 'subscriber-stream: the alert.created event');
is($ev->{payload}{alert}{content}{host}, 'h1', '... its payload');
is($ev->{id}, $ev->{payload}{event_id}, '... the event id');
my $xp = $redis->cmd('XPENDING', '411:events', 't1');
is($xp->[0], 0, '... acknowledged in its own group "t1"');
my $dir = $w2->{dir};
my $spid = fork();
die "fork: $!" unless defined $spid;
if ($spid == 0) {
	open(STDOUT, '>', "$dir/pubsub.out") or die;
	open(STDERR, '>', "$dir/pubsub.err") or die;
	exec('timeout', '60', 'perl', "$src/contrib/subscriber-pubsub",
	    '-s', $sock, '-n', '1') or die;
}
ok(wait_for(sub { -s "$dir/pubsub.err" }, 30), 'subscriber-pubsub subscribed');
$d->api(POST => "/api/v1/push/$s->{id}",
    [{ time => '2026-11-25T10:01:00Z', content => { host => 'h2',
    sig => 'ET SCAN' } }]);
waitpid($spid, 0);
open(my $pfh, '<', "$dir/pubsub.out") or die;
my $pl = <$pfh>;
close($pfh);
my $pev = eval { $J->decode($pl // '') } || {};
is($pev->{alert}{content}{host}, 'h2', 'subscriber-pubsub: the live event');

# SIGHUP: a bad config is refused (the old one stays), a good one is used
$w2->{conf} = "target soc-webhook webhook colour red\n";
$w2->write_conf;
$w2->signal('HUP');
ok(wait_for(sub { $w2->log =~ /old configuration stays in force/ }),
    'SIGHUP with a bad config: refused, the old one stays');
like($w2->log, qr/target soc-webhook: unknown option "colour"/, '... saying why');
$w2->{conf} = "target soc-webhook webhook url $url/e2e2 secret k\n";
$w2->write_conf;
$w2->signal('HUP');
ok(wait_for(sub { $w2->log =~ /configuration reloaded/ }),
    'SIGHUP with a good config: reloaded');
$d->api(POST => "/api/v1/push/$s->{id}",
    [{ time => '2026-11-25T10:02:00Z', content => { host => 'h3',
    sig => 'ET SCAN' } }]);
ok($rc->wait_requests(sub { grep { $_->{path} eq '/e2e2' &&
    $_->{body} =~ /"h3"/ } @_ }), '... the next alert goes to the new url');
$w2->stop;
$d->stop;

# issue 11, defect 9: an alert resolved in 411d reaches Alertmanager
# receivers as "resolved" (send_resolved, default yes), not those with
# send_resolved no (a "skipped" result instead); externalURL is 411d's
# base_url; a batch holds one search's alerts, its commonLabels are those
# they share.
my $base = 'https://console.example/411';
my $d3 = Test411->new(redis => $redis, conf => "base_url $base\n" .
    "target am-loud webhook\ntarget am-quiet webhook\n");
$d3->start;
my $w3 = TestNotify->new(redis => $redis, conf => <<"EOF");
retry_min 100ms
target am-loud webhook url $url/loud format alertmanager batch 10 batch_wait 500ms
target am-quiet webhook url $url/quiet format alertmanager send_resolved no
EOF
$w3->start(type => 'webhook', name => 'w3');
my @s3;
for my $n ('ssh', 'sudo') {
	($st, my $x) = $d3->api(POST => '/api/v1/searches', { name => $n,
	    type => 'push', priority => 'high', fields => ['host', 'user'],
	    targets => [{ target => 'am-loud' }, { target => 'am-quiet' }] });
	is($st, 201, "push search $n") or diag explain $x;
	push @s3, $x;
}
$d3->api(POST => "/api/v1/push/$s3[0]{id}", [
    { time => '2026-11-25T10:00:00Z', content => { host => 'h1', user => 'root' } },
    { time => '2026-11-25T10:00:01Z', content => { host => 'h2', user => 'root' } }]);
$d3->api(POST => "/api/v1/push/$s3[1]{id}", [
    { time => '2026-11-25T10:00:02Z', content => { host => 'h1', user => 'bob' } }]);
sub am_alerts {
	my ($path, $status) = @_;
	return map { my $b = $J->decode($_->{body});
	    map { +{ %$_, body => $b } } grep { $_->{status} eq $status }
	    @{$b->{alerts}} } grep { $_->{path} eq $path } $rc->requests;
}
ok(wait_for(sub { am_alerts('/loud', 'firing') == 3 &&
    am_alerts('/quiet', 'firing') == 3 }, 30),
    'both Alertmanager targets got the 3 alerts, firing');
my $mixed = 0;
for my $q (grep { $_->{path} eq '/loud' } $rc->requests) {
	my $b = $J->decode($q->{body});
	my %sid = map { ($_->{labels}{search_id} => 1) } @{$b->{alerts}};
	$mixed++ if keys %sid != 1 ||
	    $b->{groupKey} ne "{}:{search_id=\"" . (keys %sid)[0] . "\"}" ||
	    ($b->{commonLabels}{search_id} // '') ne (keys %sid)[0];
}
is($mixed, 0, 'batch: one search a body, groupKey and commonLabels by it');
my ($two) = grep { @{$_->{body}{alerts}} == 2 } am_alerts('/loud', 'firing');
if ($two) {
	is($two->{body}{commonLabels}{user}, 'root',
	    '... commonLabels: what both alerts share (user=root)');
	ok(!exists $two->{body}{commonLabels}{host},
	    '... not host (h1, h2)');
} else {
	pass('the two alerts of a search came in two requests: no intersection to see');
	pass('... (timing)');
}
my ($fa) = am_alerts('/loud', 'firing');
is($fa->{body}{externalURL}, $base, 'externalURL: 411d\'s base_url');
my ($x1) = grep { $_->{labels}{host} eq 'h1' && $_->{labels}{user} eq 'root' }
    am_alerts('/loud', 'firing');
my (undef, $al) = $d3->api(GET => "/api/v1/alerts?search=$s3[0]{id}");
my ($a1) = grep { ($_->{content}{host} // '') eq 'h1' }
    @{$al->{items} || []};
ok($a1, 'the alert in 411d');
($st, my $ar) = $d3->api(POST => '/api/v1/alerts/actions', {
    ids => [$a1->{id} + 0], action => 'resolve',
    resolution => 'action_taken' });
is($st, 200, 'resolved in 411d') or diag explain $ar;
ok(wait_for(sub { am_alerts('/loud', 'resolved') == 1 }, 30),
    'send_resolved (default yes): the receiver gets it resolved');
my ($ra) = am_alerts('/loud', 'resolved');
is($ra->{body}{status}, 'resolved', '... status resolved');
isnt($ra->{endsAt}, '0001-01-01T00:00:00Z', '... endsAt set');
is($ra->{fingerprint}, $x1->{fingerprint}, '... the same alert');
ok(wait_for(sub { grep { $_->{result} eq 'skipped' &&
    ($_->{target}{name} // '') eq 'am-quiet' &&
    ($_->{event_type} // '') eq 'alert.resolved' } results() }, 30),
    'send_resolved no: a "skipped" result on 411:delivery');
my ($sk) = grep { $_->{result} eq 'skipped' } results();
like($sk->{error} // '', qr/send_resolved no/, '... saying why');
is(scalar(am_alerts('/quiet', 'resolved')), 0, '... and nothing sent');
my $slog = $d3->wait_for(sub {
	my (undef, $l) = $d3->api(GET => "/api/v1/alerts/$a1->{id}/log");
	my @e = grep { ($_->{action} // '') eq 'notify.skipped' }
	    @{$l->{items} || []};
	@e ? $e[0] : undef }, 30);
ok($slog, '... and on the alert\'s log as notify.skipped');
like($w3->log, qr/skipped: webhook: send_resolved no/,
    '... and in the worker\'s log');
is($w3->stop, 0, 'the worker stops');
$d3->stop;
done_testing();
