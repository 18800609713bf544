#!/usr/bin/perl
# 0410-push.t -- push searches (A7): alerts POSTed to /api/v1/push/ID go
# through the search's filters, threshold and targets; bad pushes are
# refused whole with the item and field named.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis);
$d->start;

my %push = (name => 'ids alerts', type => 'push', priority => 'high',
    fields => ['host', 'sig'],
    filters => [{ type => 'dedupe', key => ['host', 'sig'], within => '1h' }],
    targets => [{ target => 'soc-webhook' }]);
my ($st, $s) = $d->api(POST => '/api/v1/searches', \%push);
is($st, 201, 'push search created') or diag explain $s;
my $id = $s->{id};
($st, my $e) = $d->api(POST => '/api/v1/searches', { %push,
    schedule => { every => '1m' } });
is($st, 422, 'a schedule on a push search is refused');
is($e->{error}{field}, 'schedule', '... naming the field');

my @items = (
	{ time => '2026-11-25T10:00:00Z', content => { host => 'h1', sig => 'ET SCAN', extra => 1 },
	  source_url => 'https://ids.example/e/1' },
	{ time => 1795600000, content => { host => 'h2', sig => 'ET SCAN' } },
	{ time => '2026-11-25T10:30:00Z', content => { host => 'h1', sig => 'ET SCAN' } },
);
($st, my $r) = $d->api(POST => "/api/v1/push/$id", \@items);
is($st, 200, 'push answered') or diag explain $r;
is($r->{mode}, 'push', 'a push run');
is($r->{state}, 'success', 'it succeeded');
is($r->{hits}, 3, '3 pushed');
is($r->{alerts}, 2, '2 alerts: the third is a duplicate within the hour');
is($r->{dropped}, 1, '... dropped by the dedupe');

($st, my $al) = $d->api(GET => "/api/v1/alerts?search=$id");
my @a = sort { $a->{id} <=> $b->{id} } @{$al->{items}};
is(scalar @a, 2, '2 alerts stored');
is_deeply($a[0]{content}, { host => 'h1', sig => 'ET SCAN' },
    'content limited to the search\'s fields');
is($a[0]{time}, '2026-11-25T10:00:00Z', 'the pushed time');
is($a[0]{source_url}, 'https://ids.example/e/1', 'the pushed source_url');
is($a[1]{time}, '2026-11-25T09:46:40Z', 'epoch seconds as time');

ok($d->wait_for(sub {
	@{$redis->cmd('XRANGE', '411:notify:webhook', '-', '+')} == 2 }, 20),
    'one delivery job per alert to the target');
my $ev = $redis->cmd('XRANGE', '411:events', '-', '+');
is(scalar @$ev, 2, 'two alert.created events');

# the same again: dedupe remembers
($st, $r) = $d->api(POST => "/api/v1/push/$id", { alerts => [ $items[1] ] });
is($st, 200, 'the {"alerts": [...]} form');
is($r->{alerts}, 0, 'a duplicate push makes no alert');

# refusals
($st, $e) = $d->api(POST => "/api/v1/push/$id", [ { content => 'x' } ]);
is($st, 422, 'content not an object: 422');
is($e->{error}{field}, '[0].content', '... naming the item and field');
($st, $e) = $d->api(POST => "/api/v1/push/$id",
    [ { content => { a => 1 } }, { content => { a => 1 }, colour => 'red' } ]);
is($e->{error}{field}, '[1].colour', 'an unknown field in the second item');
($st, $e) = $d->api(POST => "/api/v1/push/$id", [ { content => {}, time => 'soon' } ]);
is($e->{error}{field}, '[0].time', 'a bad time');
($st, $e) = $d->api(POST => "/api/v1/push/$id", []);
is($st, 422, 'an empty push is refused');
($st, $al) = $d->api(GET => "/api/v1/alerts?search=$id");
is(scalar @{$al->{items}}, 2, 'refused pushes stored nothing');
($st) = $d->api(POST => "/api/v1/push/$id", \@items, key => 'viewer');
is($st, 403, 'a viewer may not push');
($st) = $d->api(POST => '/api/v1/push/9999', \@items);
is($st, 404, 'push to an unknown search: 404');

$d->api(PATCH => "/api/v1/searches/$id", { enabled => JSON::PP::false });
($st, $e) = $d->api(POST => "/api/v1/push/$id", \@items);
is($st, 409, 'push to a disabled push search: 409');
like($e->{error}{message}, qr/disabled/, '... saying it is disabled');

($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'tcp', type => 'tcp',
    host => '127.0.0.1', port => 9, enabled => JSON::PP::false });
($st, $e) = $d->api(POST => "/api/v1/push/$s->{id}", \@items);
is($st, 409, 'push to a search of another type: 409');
like($e->{error}{message}, qr/not push/, '... saying so');

(undef, my $jobs) = $d->api(GET => "/api/v1/searches/$id/jobs");
is($jobs->{items}[0]{mode}, 'push', 'push runs are in the job history');

is($d->stop, 0, 'clean stop');
done_testing;
