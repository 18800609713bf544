#!/usr/bin/perl
# 0330-api-searches.t -- the searches API: validation (422 naming the
# field), get / list / PUT / PATCH / DELETE, optimistic concurrency (409),
# malformed bodies (400), body size limit (413), alert paging, and a
# scheduled search that runs on its own, once per window.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es8');
my $d = Test411->new(redis => $redis, es => $es, conf => "api_max_body 64k\napi_timeout 2s");
$d->start;

# validation
my @bad = (
	[{ %{$d->es_search}, schedule => { every => 'often' } }, 'schedule.every'],
	[{ %{$d->es_search}, source => 'nope' }, 'source'],
	[{ %{$d->es_search}, type => 'carrier-pigeon' }, 'type'],
	[{ %{$d->es_search}, result => 'many' }, 'result'],
	[{ %{$d->es_search}, threshold => [5, 1] }, 'threshold'],
	[{ %{$d->es_search}, name => '' }, 'name'],
	[{ %{$d->es_search}, targets => [{ target => 'nope' }] }, 'targets[0].target'],
	[{ %{$d->es_search}, filters => [{ type => 'dedupe', within => 'x' }] }, 'filters[0].within'],
	[{ %{$d->es_search}, filters => [{ type => 'zzz' }] }, 'filters[0].type'],
	[{ %{$d->es_search}, bogus => 1 }, 'bogus'],
	[{ %{$d->es_search}, url => 'http://x/' }, 'url'],
	[{ %{$d->es_search}, alerts => {} }, 'alerts'],
);
for my $b (@bad) {
	my ($st, $j) = $d->api(POST => '/api/v1/searches', $b->[0]);
	is($st, 422, "invalid $b->[1]: 422");
	is($j->{error}{field}, $b->[1], "... naming the field $b->[1]")
	    or diag explain $j;
}
my ($st, $j) = $d->api(POST => '/api/v1/searches', '{"name": ');
is($st, 400, 'malformed JSON: 400');
like($j->{error}{message}, qr/\S/, '... with a message');
($st, $j) = $d->api(POST => '/api/v1/searches', '[1,2]');
is($st, 400, 'not an object: 400');
($st) = $d->api(POST => '/api/v1/searches',
    { %{$d->es_search}, description => 'x' x (70 * 1024) });
is($st, 413, 'body over api_max_body: 413');
($st, $j) = $d->api(GET => '/api/v1/searches');
is_deeply($j->{items}, [], 'nothing stored by the refused requests');
($st) = $d->api(GET => '/api/v1/searches', undef,
    headers => { 'X-Padding' => 'x' x (80 * 1024) });
ok($st >= 400 && $st < 500 || $st == 599,
    "headers over the limit are refused ($st)");
($st) = $d->api(GET => '/api/v1/searches');
is($st, 200, '... and 411d goes on serving');

# an idle connection is closed after api_timeout
{
	require IO::Socket::INET;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $d->port, Proto => 'tcp') or die "connect: $!";
	my $t0 = time;
	my $buf;
	my $closed = 0;
	$sock->blocking(0);
	while (time - $t0 < 15) {
		my $n = sysread($sock, $buf, 1);
		if (defined $n && $n == 0) { $closed = 1; last; }
		sleep(0.1);
	}
	ok($closed, sprintf('an idle connection is closed (after %.1f s)',
	    time - $t0));
}

# CRUD
($st, my $s) = $d->api(POST => '/api/v1/searches', $d->es_search(name => 'one'));
is($st, 201, 'created');
my $id = $s->{id};
($st, $j) = $d->api(GET => "/api/v1/searches/$id", undef, key => 'viewer');
is($j->{name}, 'one', 'get by id');
ok(exists $j->{status}, 'server-owned status present');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id",
    { description => 'patched', version => 1 });
is($st, 200, 'PATCH') or diag explain $j;
is($j->{description}, 'patched', 'PATCH applied');
is($j->{name}, 'one', 'PATCH kept the rest');
is($j->{version}, 2, 'version 2');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id",
    { description => 'stale', version => 1 });
is($st, 409, 'stale version: 409');
($st, $j) = $d->api(PUT => "/api/v1/searches/$id",
    { %{$d->es_search(name => 'two')}, version => 2 });
is($st, 200, 'PUT') or diag explain $j;
is($j->{name}, 'two', 'PUT replaced');
ok(!defined $j->{description}, 'PUT dropped what was not sent');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id",
    { schedule => { every => '0s' } });
is($st, 422, 'invalid PATCH refused');
($st, $j) = $d->api(GET => "/api/v1/searches/$id");
is($j->{name}, 'two', '... and the stored search unchanged');
is($j->{version}, 3, '... version unchanged');
($st) = $d->api(GET => '/api/v1/searches/424242');
is($st, 404, 'unknown search: 404');
($st) = $d->api(GET => '/api/v1/searches?colour=red');
is($st, 400, 'unknown query parameter: 400');

# list filters and paging
for my $i (1 .. 5) {
	$d->api(POST => '/api/v1/searches', $d->es_search(name => "list $i",
	    tags => [$i % 2 ? 'odd' : 'even'], description => "number $i"));
}
($st, $j) = $d->api(GET => '/api/v1/searches?tag=odd');
is_deeply([sort map { $_->{name} } @{$j->{items}}], ['list 1', 'list 3', 'list 5'],
    'list by tag');
($st, $j) = $d->api(GET => '/api/v1/searches?q=list%204');
is_deeply([map { $_->{name} } @{$j->{items}}], ['list 4'], 'list by text');
($st, $j) = $d->api(GET => '/api/v1/searches?enabled=true');
is(scalar @{$j->{items}}, 0, 'list by enabled (all are disabled)');
($st, $j) = $d->api(GET => '/api/v1/searches?source=logs&type=es&limit=2');
is(scalar @{$j->{items}}, 2, 'list by source and type, 2 a page');
my %names = map { $_->{name} => 1 } @{$j->{items}};
while ($j->{next}) {
	($st, $j) = $d->api(GET => "/api/v1/searches?source=logs&limit=2&cursor=$j->{next}");
	$names{$_->{name}}++ for @{$j->{items}};
}
is(scalar keys %names, 6, 'paging the list gives every search once');
is(scalar(grep { $_ > 1 } values %names), 0, '... none twice');
($st) = $d->api(GET => '/api/v1/searches?enabled=maybe');
is($st, 400, 'a bad enabled value: 400');

# a scheduled search runs on its own, one window after another
my $now = int(time * 1000);
$es->docs('logs-x', [ map { { '@timestamp' => $now - 5000 + $_ * 100,
    program => 'sshd', host => "h$_" } } 1 .. 3 ]);
($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'often', result => 'count', threshold => [0, undef],
    schedule => { every => '1s' }, range => '1s', enabled => JSON::PP::true));
is($st, 201, 'scheduled search created');
my $sid = $s->{id};
ok($d->wait_for(sub {
	my (undef, $jl) = $d->api(GET => "/api/v1/searches/$sid/jobs");
	$jl && @{$jl->{items}} >= 3;
}, 30), 'it ran by itself at least 3 times');
my (undef, $jl) = $d->api(GET => "/api/v1/searches/$sid/jobs?limit=1000");
my @w = sort { $a->{from} cmp $b->{from} } map { $_->{window} }
    grep { $_->{mode} eq 'scheduled' } @{$jl->{items}};
my $contig = 1;
for my $i (1 .. $#w) {
	$contig = 0 unless $w[$i]{from} eq $w[$i - 1]{to};
}
ok($contig, 'windows are contiguous: each starts where the last ended');
my %from;
$from{$_->{from}}++ for @w;
is(scalar(grep { $_ > 1 } values %from), 0, 'no window twice');

# alert paging
($st, $j) = $d->api(GET => "/api/v1/alerts?search=$sid&limit=2");
is($st, 200, 'alerts page 1');
is(scalar @{$j->{items}}, 2, 'limit 2');
ok($j->{next}, 'a next cursor');
my %all = map { $_->{id} => 1 } @{$j->{items}};
my $pages = 1;
while ($j->{next} && $pages < 50) {
	($st, $j) = $d->api(GET => "/api/v1/alerts?search=$sid&limit=2&cursor=$j->{next}");
	$all{$_->{id}}++ for @{$j->{items}};
	$pages++;
}
is(scalar(grep { $_ > 1 } values %all), 0, 'paging never repeats an alert');
($st) = $d->api(GET => '/api/v1/alerts?limit=5000');
is($st, 400, 'limit above 1000 refused');
($st) = $d->api(GET => '/api/v1/alerts?state=sleepy');
is($st, 400, 'unknown state refused');

($st) = $d->api(DELETE => "/api/v1/searches/$sid", undef, key => 'viewer');
is($st, 403, 'viewer may not delete');
($st) = $d->api(DELETE => "/api/v1/searches/$sid", undef, key => 'editor');
is($st, 200, 'editor may delete');

is($d->stop, 0, 'clean stop');
done_testing;
