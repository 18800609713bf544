#!/usr/bin/perl
# 0550-filter-throttle.t -- end to end: the throttle and dedupe filters (C1,
# C2) through 411d and the Elasticsearch-compatible fake: at most N alerts
# per period and key, counted across runs and across a restart; dedupe by
# key within a period; a dry run shows the decisions and counts nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

# Two hours of hits: each hour, host a logs 5 and host b logs 2.
my $H = int(time / 3600) * 3600;
my @docs;
for my $h (1, 2) {
	my $start = ($H - $h * 3600) * 1000;
	for my $i (0 .. 4) {
		push @docs, { '@timestamp' => $start + 60_000 + $i * 1000,
		    program => 'sshd', host => 'a', user => "u$i" };
	}
	for my $i (0 .. 1) {
		push @docs, { '@timestamp' => $start + 120_000 + $i * 1000,
		    program => 'sshd', host => 'b', user => "u$i" };
	}
}
$es->docs('logs-2026.11.25', \@docs);

sub mk {
	my ($name, @filters) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    name => $name, query => 'program:sshd', range => '1h',
	    filters => \@filters));
	is($st, 201, "$name: created") or diag explain $s;
	return $s->{id};
}

sub run_at {
	my ($id, $at, %o) = @_;
	my ($st, $run) = $d->api(POST => "/api/v1/searches/$id/run",
	    { at => $at, %o });
	is($st, 200, 'run answers') or diag explain $run;
	return $run;
}

# throttle: 3 per day per host
my $id = mk('throttle', { type => 'throttle', count => 3, per => '1d',
    key => ['host'] });
my $dry = run_at($id, $H - 3600, dry_run => JSON::PP::true);
is(scalar @{$dry->{results}}, 5, 'dry run, hour 1: a 3 + b 2');
my @dropped = grep { $_->{action} eq 'dropped' } @{$dry->{trace}};
is(scalar @dropped, 2, '... 2 of a dropped, traced');
is($dropped[0]{type}, 'throttle', '... by the throttle');
my $run = run_at($id, $H - 3600);
is($run->{alerts}, 5, 'hour 1: 5 alerts (the dry run counted nothing)');
is($run->{dropped}, 2, '... 2 dropped');
$d->stop;
$d->start;
$run = run_at($id, $H);
is($run->{alerts}, 1, 'hour 2, after a restart: only b has room left (1)');
my ($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=100");
my %by;
$by{$_->{content}{host}}++ for @{$al->{items}};
is_deeply(\%by, { a => 3, b => 3 }, 'per host: a 3, b 3 over two hours');

# dedupe: one alert per host and user within a day
$id = mk('dedupe', { type => 'dedupe', key => ['host', 'user'],
    within => '1d' });
$run = run_at($id, $H - 3600);
is($run->{alerts}, 7, 'dedupe hour 1: 7 distinct host+user');
$run = run_at($id, $H);
is($run->{alerts}, 0, 'dedupe hour 2: the same 7 again, all dropped');
$dry = run_at($id, $H, dry_run => JSON::PP::true);
like($dry->{trace}[0]{reason}, qr/same key passed/,
    "the reason: $dry->{trace}[0]{reason}");

# bad options name the field
my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
    filters => [{ type => 'throttle', count => 0 }]));
is($st, 422, 'throttle count 0 refused');
is($e->{error}{field}, 'filters[0].count', '... naming filters[0].count');
like($e->{error}{message}, qr/^throttle: /, "... $e->{error}{message}");

$d->stop;
done_testing;
