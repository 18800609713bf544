#!/usr/bin/perl
# 0365-outbox-idempotency.t -- the outbox adds every event once, whatever
# else is in the streams: idempotency is a high-water mark per datadir in
# Redis, checked and set by one script with the XADD, never inferred from
# the stream's last id (issue 11, defect 3).
#   (a) a foreign entry with a stream id an hour ahead: all events still
#       go in, each once;
#   (b) two 411d on one Redis and one prefix, one with its clock an hour
#       ahead: 50 events, each once, two producer.instance values;
#   (c) a crash after the adds and before the deletes (test hook
#       FOUR11_TEST_OUTBOX_KEEP): the restart resends them all and none
#       is added twice; they count as duplicates, not as sent;
#   (d) producer.instance defaults to the datadir's id, the same across
#       restarts and in the ready line; "instance NAME" replaces it, at
#       start or on a reload;
#   (e) SCRIPT FLUSH: NOSCRIPT falls back to EVAL, nothing is lost;
#   (f) the script itself, called by hand: a seq at or below the mark is
#       skipped, an entry whose predecessor is not in is refused
#       (OUTBOXGAP: pipelined entries cannot overtake a failed one), an
#       add sets the mark and publishes, XADD's errors come in Redis's
#       words.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new;

# A push search with one webhook target; returns its id.
sub push_search {
	my ($d, $name) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => $name,
	    type => 'push', priority => 'high', fields => ['n'],
	    targets => [{ target => 'soc-webhook' }] });
	die "search $name: $st" unless $st == 201;
	return $s->{id};
}

# Push n items (one alert each); returns the alerts made.
sub push_alerts {
	my ($d, $id, $tag, $n) = @_;
	my @items = map { { content => { n => "$tag-$_" } } } 1 .. $n;
	my ($st, $r) = $d->api(POST => "/api/v1/push/$id", \@items);
	return $st == 200 ? $r->{alerts} : -1;
}

# The entries of a stream of type $type: [{sid, id, payload}].
sub entries {
	my ($redis, $stream, $type) = @_;
	my @out;
	for my $e (@{$redis->cmd('XRANGE', $stream, '-', '+')}) {
		my %f = @{$e->[1]};
		next unless ($f{type} // '') eq $type;
		push @out, { sid => $e->[0], id => $f{id},
		    payload => $J->decode($f{payload}) };
	}
	return @out;
}

# Each event id once?
sub once_each {
	my %n;
	$n{$_->{id}}++ for @_;
	return !grep { $_ != 1 } values %n;
}

# --- (a) a foreign entry an hour ahead
my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis);
$d->start;
like($d->log_since, qr/ready api=\S+ .*instance=([0-9a-f]{16})\b/,
    'the ready line names the instance');
my ($ready_inst) = $d->log_since =~ /ready api=\S+ .*instance=(\S+)/;
my $ahead = int(time * 1000) + 3600_000;
$redis->cmd('XADD', '411:events', "$ahead-0", 'x', 'y');
$redis->cmd('XADD', '411:notify:webhook', "$ahead-0", 'x', 'y');
my $id = push_search($d, 'a');
is(push_alerts($d, $id, 'a', 10), 10, '(a) 10 alerts');
ok($d->wait_for(sub {
	entries($redis, '411:events', 'alert.created') >= 10 }, 30),
    '(a) all 10 alert.created in 411:events despite a higher foreign id');
my @ev = entries($redis, '411:events', 'alert.created');
is(scalar @ev, 10, '(a) exactly 10');
ok(once_each(@ev), '(a) each once');
ok($d->wait_for(sub {
	entries($redis, '411:notify:webhook', 'alert.created') >= 10 }, 30),
    '(a) and 10 delivery jobs in 411:notify:webhook');
ok($d->wait_for(sub { ($d->metric('four11_outbox_depth') // 1) == 0 }, 20),
    '(a) the outbox is empty');
is($d->metric('four11_outbox_sent_total'), 20, '(a) 20 entries sent');
is($d->metric('four11_outbox_duplicates_total'), 0, '(a) no duplicates');
my %hwm = map { $_ => 1 } @{$redis->cmd('KEYS', '411:outbox:hwm:*')};
my $dataid = $ev[0]{payload}{producer}{instance};
ok($hwm{"411:outbox:hwm:$dataid:{411:events}"} &&
    $hwm{"411:outbox:hwm:$dataid:{411:notify:webhook}"},
    '(a) one high-water mark per stream, hash-tagged with the stream key')
    or diag explain \%hwm;
my $mark = $redis->cmd('GET', "411:outbox:hwm:$dataid:{411:events}");
ok($mark >= 10, "(a) the events stream's mark is an outbox seq ($mark)");

# --- (d) the default instance: the datadir's id, stable
like($dataid, qr/^[0-9a-f]{16}$/, '(d) the default instance is the datadir id');
is($ready_inst, $dataid, '(d) ... as the ready line says');
my %inst = map { $_->{payload}{producer}{instance} => 1 } @ev;
is(scalar keys %inst, 1, '(d) one instance in all events');
is($d->stop, 0, 'clean stop');
$d->start;
is(push_alerts($d, $id, 'd', 1), 1, '(d) an alert after a restart');
ok($d->wait_for(sub {
	entries($redis, '411:events', 'alert.created') >= 11 }, 30),
    '(d) its event is in');
@ev = entries($redis, '411:events', 'alert.created');
is($ev[-1]{payload}{producer}{instance}, $dataid,
    '(d) the same instance after a restart');
is($d->stop, 0, 'clean stop');
$d->{conf} = 'instance soc-east-1';
$d->start;
like($d->log_since, qr/ready api=.*instance=soc-east-1\b/,
    '(d) instance NAME in the ready line');
is(push_alerts($d, $id, 'n', 1), 1, '(d) an alert under a given name');
ok($d->wait_for(sub {
	entries($redis, '411:events', 'alert.created') >= 12 }, 30),
    '(d) its event is in (the mark stays with the datadir)');
@ev = entries($redis, '411:events', 'alert.created');
is($ev[-1]{payload}{producer}{instance}, 'soc-east-1',
    '(d) producer.instance is the given name');
ok(once_each(@ev), '(d) still each event once');
$d->{conf} = 'instance soc-east-2';
$d->write_conf;
my $hup = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($hup) =~ /instance is now soc-east-2/ },
    20), '(d) a reload renames the instance, and says so');
is(push_alerts($d, $id, 'h', 1), 1, '(d) an alert after the reload');
ok($d->wait_for(sub {
	entries($redis, '411:events', 'alert.created') >= 13 }, 30),
    '(d) its event is in');
@ev = entries($redis, '411:events', 'alert.created');
is($ev[-1]{payload}{producer}{instance}, 'soc-east-2',
    '(d) ... under the new name');

# --- (e) the script flushed from Redis's cache
$redis->cmd('SCRIPT', 'FLUSH');
my $pos = -s $d->logfile;
is(push_alerts($d, $id, 'e', 3), 3, '(e) 3 alerts after SCRIPT FLUSH');
ok($d->wait_for(sub {
	entries($redis, '411:events', 'alert.created') >= 16 }, 30),
    '(e) their events are in (EVAL after NOSCRIPT)');
@ev = entries($redis, '411:events', 'alert.created');
is(scalar @ev, 16, '(e) 16 in all');
like($d->log_since($pos), qr/NOSCRIPT/, '(e) NOSCRIPT was met and logged');
ok(once_each(@ev), '(e) each once');
is($d->stop, 0, 'clean stop');

# --- (b) two 411d, one Redis, one prefix, clocks an hour apart
my $r2 = TestRedis->new;
my $d1 = Test411->new(redis => $r2);
my $d2 = Test411->new(redis => $r2);
$d1->start;
{
	local $ENV{FOUR11_CLOCK_OFFSET_MS} = 3600_000;
	$d2->start;
}
my $id1 = push_search($d1, 'one');
my $id2 = push_search($d2, 'two');
my $made = 0;
for my $round (1 .. 5) {
	$made += push_alerts($d2, $id2, "two$round", 5);
	# d2's ids (its clock) in first: explicit ids an hour ahead
	$d2->wait_for(sub {
	    ($d2->metric('four11_outbox_depth') // 1) == 0 }, 20);
	$made += push_alerts($d1, $id1, "one$round", 5);
}
is($made, 50, '(b) 50 alerts made by the two');
$d1->wait_for(sub {
	entries($r2, '411:events', 'alert.created') >= 50 }, 30);
$d1->wait_for(sub { ($d1->metric('four11_outbox_depth') // 1) == 0 &&
    ($d2->metric('four11_outbox_depth') // 1) == 0 }, 20);
@ev = entries($r2, '411:events', 'alert.created');
is(scalar @ev, 50, '(b) 50 alert.created in the stream');
ok(once_each(@ev), '(b) each once');
my %per;
$per{$_->{payload}{producer}{instance}}++ for @ev;
is(scalar keys %per, 2, '(b) two distinct producer.instance values');
is_deeply([sort values %per], [25, 25], '(b) 25 from each');
my @jobs = entries($r2, '411:notify:webhook', 'alert.created');
is(scalar @jobs, 50, '(b) and 50 delivery jobs');
is($d1->stop, 0, 'clean stop');
is($d2->stop, 0, 'clean stop');

# --- (c) sent, not deleted, crash: the replay adds nothing twice
my $r3 = TestRedis->new;
my $d3 = Test411->new(redis => $r3);
{
	local $ENV{FOUR11_TEST_OUTBOX_KEEP} = 1;
	$d3->start;
}
$id = push_search($d3, 'c');
is(push_alerts($d3, $id, 'c', 10), 10, '(c) 10 alerts');
ok($d3->wait_for(sub {
	entries($r3, '411:notify:webhook', 'alert.created') >= 10 &&
	entries($r3, '411:events', 'alert.created') >= 10 }, 30),
    '(c) events and jobs added');
is($d3->metric('four11_outbox_depth'), 20,
    '(c) the 20 entries are still in the outbox (hook)');
$d3->kill9;
$d3->start;
ok($d3->wait_for(sub { ($d3->metric('four11_outbox_depth') // 1) == 0 }, 30),
    '(c) after the crash the outbox is resent and drains');
is(scalar(entries($r3, '411:events', 'alert.created')), 10,
    '(c) still 10 alert.created: none added twice');
is(scalar(entries($r3, '411:notify:webhook', 'alert.created')), 10,
    '(c) still 10 delivery jobs');
is($d3->metric('four11_outbox_duplicates_total'), 20,
    '(c) the 20 resent entries counted as duplicates');
is($d3->metric('four11_outbox_sent_total'), 0, '(c) ... not as sent');
is(push_alerts($d3, $id, 'c2', 2), 2, '(c) 2 more alerts');
ok($d3->wait_for(sub {
	entries($r3, '411:events', 'alert.created') >= 12 }, 30),
    '(c) new events still go in after the replay');
@ev = entries($r3, '411:events', 'alert.created');
is(scalar @ev, 12, '(c) 12 in all');
ok(once_each(@ev), '(c) each once');
is($d3->stop, 0, 'clean stop');

# --- (f) the script by hand (its sha1 from 411d -v)
my $r4 = TestRedis->new;
my $d4 = Test411->new(redis => $r4, args => ['-v']);
$d4->start;
ok($d4->wait_for(sub { $d4->log_since =~ /outbox: script [0-9a-f]{40} loaded/ },
    20), '(f) the script is loaded at connect');
my ($sha) = $d4->log_since =~ /outbox: script ([0-9a-f]{40}) loaded/;
my $mk = '411:outbox:hwm:hand:{411:hand}';
my @run = ('EVALSHA', $sha, 2, '411:hand', $mk);
my @rest = ('1', '411:hand-chan', 'alert.created', 'ev', '{"x":1}');
$r4->cmd('SET', $mk, 100);
is($r4->cmd(@run, 100, 0, @rest), 0, '(f) seq = mark: 0, a duplicate');
is($r4->cmd(@run, 7, 0, @rest), 0, '(f) seq < mark: 0');
like($r4->cmd_err(@run, 102, 101, @rest), qr/^OUTBOXGAP/,
    '(f) predecessor 101 above the mark: OUTBOXGAP');
is($r4->cmd('EXISTS', '411:hand'), 0, '(f) ... nothing added so far');
my $sub = $r4->subscribe('411:hand-chan');
my $sid = $r4->cmd(@run, 101, 100, @rest);
like($sid, qr/^\d+-\d+$/, '(f) the next seq: added, the stream id answered');
is($r4->cmd('GET', $mk), '101', '(f) the mark is its seq');
my $e = $r4->cmd('XRANGE', '411:hand', '-', '+');
is_deeply($e->[0][1], ['v', '1', 'type', 'alert.created', 'id', 'ev',
    'payload', '{"x":1}'], '(f) the entry has v, type, id, payload');
is(scalar($sub->next_message(10)), '{"x":1}', '(f) and it was published');
like($r4->cmd(@run, 102, 101, '0', @rest[1 .. 4]), qr/^\d+-\d+$/,
    '(f) 102 after 101: added');
is($r4->cmd('XLEN', '411:hand'), 2, '(f) two entries');
$r4->cmd('SET', '411:str', 'x');
like($r4->cmd_err('EVALSHA', $sha, 2, '411:str', $mk, 103, 102, @rest),
    qr/^WRONGTYPE/, '(f) XADD\'s error in Redis\'s words');
is($r4->cmd('GET', $mk), '102', '(f) ... and the mark unchanged');
is($d4->stop, 0, 'clean stop');

done_testing;
