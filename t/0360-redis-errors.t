#!/usr/bin/perl
# 0360-redis-errors.t -- Redis refusing an entry (here: the stream key
# holds a string) is logged with Redis's own words, the event stays in the
# outbox, and goes out once the key is fixed; nothing is lost or doubled.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'os2');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

my $now = int(time * 1000);
$es->docs('logs-r', [ map { { '@timestamp' => $now - 60_000 + $_,
    program => 'sshd', host => "r$_" } } 1 .. 2 ]);
my ($st, $s) = $d->api(POST => '/api/v1/searches',
    $d->es_search(range => '1h', fields => ['host']));

$redis->cmd('SET', '411:events', 'not a stream');
my $pos = -s $d->logfile;
my (undef, $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
is($r->{alerts}, 2, 'the run made 2 alerts');
ok($d->wait_for(sub { $d->log_since($pos) =~ /WRONGTYPE/ }, 20),
    'the refusal is logged in Redis\'s words');
like($d->log_since($pos), qr/outbox: redis refused entry \d+: WRONGTYPE/,
    '... naming the outbox entry');
cmp_ok($d->metric('four11_outbox_depth'), '>=', 2, 'the events wait in the outbox');
(undef, my $h) = $d->api(GET => '/healthz', undef, key => undef);
is($h->{redis}, 'up', 'redis itself is up');

$redis->cmd('DEL', '411:events');
ok($d->wait_for(sub { ($d->metric('four11_outbox_depth') // 1) == 0 }, 30),
    'once the key is fixed the outbox drains');
my $entries = $redis->cmd('XRANGE', '411:events', '-', '+');
is(scalar @$entries, 2, 'both events in the stream, once each');

is($d->stop, 0, 'clean stop');
done_testing;
