#!/usr/bin/perl
# 0820-notify-reliability.t -- 411-notify when things go wrong: a target
# down then up (delivered once, after "retrying" results), 429 with
# Retry-After, a 4xx that is never retried, retries exhausted (dead
# letter, "dead" result, the line on the alert's log in 411d), SIGTERM
# with a delivery waiting to retry (left pending, finished by the next
# start), a worker killed mid-delivery (another takes the entry over;
# one successful delivery per idempotency key), and two workers sharing
# the group (every job delivered once).
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
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
my $rc = TestReceiver->new(kind => 'webhook');
my $url = $rc->url;
my $s0 = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp') or die "bind: $!";
my $lateport = $s0->sockport;
close($s0);
my $conf = <<"EOF";
retry_min 200ms
retry_max 2s
retries 4
claim_idle 1s
target hook webhook url $url/hook timeout 20s
target soc-webhook webhook url $url/soc
target late webhook url http://127.0.0.1:$lateport/late
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
	my ($eid, $target) = @_;
	my $p = { schema => '411.event.v1', event_id => $eid,
	    event_type => 'alert.created',
	    producer => { instance => 't', version => '0' },
	    search => { id => 1, name => 's', priority => 'low' },
	    alert => { id => 1000, content => { n => $eid } },
	    target => { name => $target // 'hook', type => 'webhook' } };
	$redis->cmd('XADD', '411:notify:webhook', '*', 'v', '1', 'type',
	    'alert.created', 'id', $eid, 'payload', $J->encode($p));
}

sub results {
	my ($eid) = @_;
	my $r = $redis->cmd('XRANGE', '411:delivery', '-', '+');
	return grep { !defined $eid || $_->{event_id} eq $eid }
	    map { my %f = @{$_->[1]}; $J->decode($f{payload}) } @$r;
}

sub reqs {
	my ($eid) = @_;
	return grep { ($_->{headers}{'idempotency-key'} // '') eq $eid }
	    $rc->requests;
}

sub pending {
	my $x = $redis->cmd('XPENDING', '411:notify:webhook', 'webhook');
	return $x->[0];
}

my $w = TestNotify->new(redis => $redis, conf => $conf);
$w->start(type => 'webhook', name => 'a');

# down, then up
$rc->set(fail => 2, status => 503);
job('down-up');
ok(wait_for(sub { grep { $_->{result} eq 'delivered' } results('down-up') }),
    'target down then up: delivered');
my @r = reqs('down-up');
is(scalar @r, 3, '... after 3 tries');
is(scalar(grep { $_->{outcome} eq 'ok' } @r), 1, '... delivered once');
my @res = results('down-up');
is_deeply([map { $_->{result} } @res], ['retrying', 'retrying', 'delivered'],
    '... results: retrying, retrying, delivered');
like($res[0]{error}, qr/HTTP 503/, '... the retries say why');
ok($res[0]{retry_at}, '... and when the next try is');
is($res[2]{attempt}, 3, '... delivered on try 3');
ok(wait_for(sub { pending() == 0 }), '... and acknowledged');

# nothing listening yet (connection refused), then a receiver comes up
job('late-1', 'late');
ok(wait_for(sub { grep { $_->{result} eq 'retrying' } results('late-1') }),
    'target not listening: retrying');
my ($lr) = grep { $_->{result} eq 'retrying' } results('late-1');
like($lr->{error} // '', qr/connect/i, '... a connection error');
my $late = TestReceiver->new(port => $lateport);
ok(wait_for(sub { grep { $_->{result} eq 'delivered' } results('late-1') }),
    '... delivered once the receiver is up');
is(scalar($late->requests), 1, '... one request reached it');
$late->stop;

# Redis restarts (empty: no persistence): the worker reconnects, makes its
# group again and goes on
$redis->stop;
$redis->start;
job('after-redis');
ok(wait_for(sub { grep { $_->{result} eq 'delivered' }
    results('after-redis') }, 60), 'after a Redis restart: delivered');
like($w->log, qr/redis connected.*redis connected/s, '... after reconnecting');

# 429 with Retry-After
$rc->set(fail => 1, status => 429, retry_after => 1);
job('slow-down');
ok(wait_for(sub { grep { $_->{result} eq 'delivered' }
    results('slow-down') }), '429: delivered after');
@res = results('slow-down');
like($res[0]{error}, qr/HTTP 429/, '... a 429 is retried');
ok(($res[0]{retry_at} // '') gt ($res[0]{at} // 'z'),
    '... the retry is not before Retry-After (1s)');

# a 4xx other than 408/425/429 is never retried
$rc->set(fail => 1, status => 400, body => 'bad request');
job('bad-req');
ok(wait_for(sub { grep { $_->{result} eq 'dead' } results('bad-req') }),
    '400: dead at once');
is(scalar(reqs('bad-req')), 1, '... after one try');
$rc->set(body => undef);

# retries exhausted, with an alert of 411d: dead letter + log line
my $d = Test411->new(redis => $redis);
$d->start;
my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'ids',
    type => 'push', priority => 'high', fields => ['host'],
    targets => [{ target => 'soc-webhook' }] });
is($st, 201, 'push search') or diag explain $s;
$rc->set(fail => 100, status => 500);
($st, my $run) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ time => '2026-11-25T10:00:00Z', content => { host => 'h9' } }]);
is($run->{alerts}, 1, 'an alert of 411d');
my $dead = wait_for(sub {
	my $x = $redis->cmd('XRANGE', '411:notify:dead', '-', '+');
	my @m = grep { my %h = @{$_->[1]}; $h{target} eq 'soc-webhook' } @$x;
	@m ? $m[0] : undef }, 60);
ok($dead, 'retries exhausted: a dead letter');
my %df = $dead ? @{$dead->[1]} : ();
like($df{error} // '', qr/HTTP 500/, '... with the last error');
is($df{attempts}, 4, '... after the 4 tries');
is($df{target}, 'soc-webhook', '... naming the target');
my $p = $df{payload} ? $J->decode($df{payload}) : {};
is($p->{alert}{content}{host}, 'h9', '... carrying the job');
@res = results($df{id} // 'none');
is_deeply([map { $_->{result} } @res],
    ['retrying', 'retrying', 'retrying', 'dead'],
    '... results: 3 retrying, then dead');
my $aid = $p->{alert}{id} // 0;
my $line = wait_for(sub {
	my ($lst, $l) = $d->api(GET => "/api/v1/alerts/$aid/log");
	my @e = grep { ($_->{action} // '') eq 'notify.dead' }
	    @{$l->{items} || []};
	@e ? $e[0] : undef }, 30);
ok($line, 'the dead delivery is on the alert\'s log in 411d');
like($line->{note} // '', qr/dead to soc-webhook \(webhook\), try 4: HTTP 500/,
    '... with the error');
my ($lst, $l) = $d->api(GET => "/api/v1/alerts/$aid/log");
is(scalar(grep { ($_->{action} // '') eq 'notify.retrying' }
    @{$l->{items}}), 3, '... after the 3 retrying lines');
ok(wait_for(sub { pending() == 0 }), 'the dead job is acknowledged');
$rc->set(fail => 0);
$d->stop;

# SIGTERM while a delivery waits to retry: left pending, not lost
$rc->set(fail => 1, status => 503);
$w->stop;
(my $slow = $conf) =~ s/^retry_min .*\n/retry_min 30s\n/m;
$slow =~ s/^retry_max .*\n/retry_max 30s\n/m;
$w = TestNotify->new(redis => $redis, conf => $slow);
$w->start(type => 'webhook', name => 'a');
job('term');
ok(wait_for(sub { grep { $_->{result} eq 'retrying' } results('term') }),
    'a delivery waits to retry');
is($w->stop, 0, 'SIGTERM: the worker stops at once, exit 0');
is(pending(), 1, '... leaving the entry pending');
$w = TestNotify->new(redis => $redis, conf => $conf);
$w->start(type => 'webhook', name => 'a');
ok(wait_for(sub { grep { $_->{result} eq 'delivered' } results('term') }),
    'the next start re-reads its pending entry and delivers it');
is(scalar(grep { $_->{outcome} eq 'ok' } reqs('term')), 1, '... once');
ok(wait_for(sub { pending() == 0 }), '... acknowledged');

# killed mid-delivery: another worker takes the entry over
$rc->set(hang => 1, hang_for => 6);
job('killed');
ok(wait_for(sub { scalar reqs('killed') }), 'the receiver has the request');
$w->kill9;
my $b = TestNotify->new(redis => $redis, conf => $conf);
$b->start(type => 'webhook', name => 'b');
ok(wait_for(sub { grep { $_->{result} eq 'delivered' } results('killed') },
    60), 'worker b delivered what worker a was killed in');
@r = reqs('killed');
is(scalar(grep { $_->{outcome} eq 'ok' } @r), 1,
    '... one successful delivery for the idempotency key');
like($b->log, qr/took over 1 idle entr/, '... by XAUTOCLAIM');
ok(wait_for(sub { pending() == 0 }), '... acknowledged');

# two workers share the group
my $c = TestNotify->new(redis => $redis, conf => $conf);
$c->start(type => 'webhook', name => 'c');
job("many-$_") for 1 .. 20;
ok(wait_for(sub { scalar(grep { $_->{result} eq 'delivered' &&
    $_->{event_id} =~ /^many-/ } results()) >= 20 }, 60),
    'two workers: all 20 jobs delivered');
my %seen;
$seen{$_->{headers}{'idempotency-key'}}++
    for grep { $_->{outcome} eq 'ok' &&
    ($_->{headers}{'idempotency-key'} // '') =~ /^many-/ } $rc->requests;
is(scalar keys %seen, 20, '... 20 keys');
is(scalar(grep { $_ != 1 } values %seen), 0, '... each delivered once');
my %by;
$by{$_->{worker}}++ for grep { $_->{result} eq 'delivered' &&
    $_->{event_id} =~ /^many-/ } results();
diag('deliveries by worker: ' . join(' ', map { "$_=$by{$_}" } sort keys %by));
ok(wait_for(sub { pending() == 0 }), 'nothing left pending');
my $groups = $redis->cmd('XINFO', 'CONSUMERS', '411:notify:webhook',
    'webhook');
my %names = map { my %h = @$_; ($h{name} => 1) } @$groups;
ok($names{b} && $names{c}, 'both consumers in the group "webhook"');
is($b->stop, 0, 'worker b stops');
is($c->stop, 0, 'worker c stops');
done_testing();
