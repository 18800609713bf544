#!/usr/bin/perl
# 0530-filter-spike.t -- end to end: the spike filter (C11) through 411d and
# the Elasticsearch-compatible fake.  Committed runs over consecutive hours
# build each host's history; a host whose count jumps makes one alert with
# the count, the mean and the ratio; a dry run shows the trace and moves no
# history; the history survives a restart; a lifetime that is over takes
# the filter out of the chain.
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
my $es = FakeES->new(flavour => 'es8');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

# Hours H-5 .. H-1 (window ends at H-4 .. H): web1 logs 4 per hour, then 40
# in the last hour; web2 logs 4 per hour throughout.
my $H = int(time / 3600) * 3600;
my @docs;
for my $h (1 .. 5) {
	my $start = ($H - $h * 3600) * 1000;
	my $n1 = $h == 1 ? 40 : 4;
	for my $i (0 .. $n1 - 1) {
		push @docs, { '@timestamp' => $start + 60_000 + $i * 1000,
		    program => 'sshd', host => 'web1', message => 'Failed' };
	}
	for my $i (0 .. 3) {
		push @docs, { '@timestamp' => $start + 120_000 + $i * 1000,
		    program => 'sshd', host => 'web2', message => 'Failed' };
	}
}
$es->docs('logs-2026.11.25', \@docs);

my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	name => 'SSH failure spikes',
	query => 'program:sshd',
	range => '1h',
	filters => [{ type => 'spike', key => ['host'], windows => 3,
	    ratio => 3 }],
));
is($st, 201, 'search with a spike filter created') or diag explain $s;
my $id = $s->{id};

sub run_at {
	my ($at, %o) = @_;
	my ($rst, $run) = $d->api(POST => "/api/v1/searches/$id/run",
	    { at => $at, %o });
	is($rst, 200, "run at H-" . (($H - $at) / 3600) . " answers")
	    or diag explain $run;
	return $run;
}

# Three windows of history: nothing yet.
for my $h (4, 3, 2) {
	my $run = run_at($H - $h * 3600);
	is($run->{state}, 'success', '... succeeded') or diag $run->{error};
	is($run->{hits}, 8, '... saw the 8 hits of the hour');
	is($run->{alerts}, 0, '... learning: no alert');
}

# A dry run of the last hour: the spike shows, with the trace.
my $dry = run_at($H, dry_run => JSON::PP::true);
is(scalar @{$dry->{results}}, 1, 'dry run: one host spiked');
my $c = $dry->{results}[0]{content};
is($c->{host}, 'web1', '... web1');
is($c->{count}, 40, '... count 40');
is($c->{mean}, 4, '... mean 4');
is($c->{ratio}, 10, '... ratio 10');
is($c->{direction}, 'up', '... up');
my @counted = grep { $_->{action} eq 'dropped' && $_->{type} eq 'spike' }
    @{$dry->{trace}};
is(scalar @counted, 44, 'the trace shows every record counted');
like($counted[0]{reason}, qr/counted/, '... as counted');
my ($batch) = grep { $_->{action} eq 'batch' } @{$dry->{trace}};
ok($batch, 'the trace tells the end-of-run decision') or
    diag explain $dry->{trace};
is($batch->{record}, undef, '... for the whole run (record null)');
like($batch->{reason}, qr/1 of 2 keys spiked/, "... $batch->{reason}");

# The dry run moved no history: the real run decides the same.
$d->stop;
$d->start;
my $run = run_at($H);
is($run->{alerts}, 1, 'after a restart the real run alerts once');
my ($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$id");
is(scalar @{$al->{items}}, 1, 'one alert stored');
is($al->{items}[0]{content}{host}, 'web1', '... for web1');
is($al->{items}[0]{content}{count}, 40, '... with count 40');

# A filter past its lifetime no longer applies: every hit alerts.
($st, $s) = $d->api(PUT => "/api/v1/searches/$id", $d->es_search(
	name => 'SSH failure spikes',
	query => 'program:sshd',
	range => '1h',
	version => $s->{version},
	filters => [{ type => 'spike', key => ['host'], windows => 3,
	    ratio => 3, lifetime => '2020-01-01T00:00:00Z' }],
));
is($st, 200, 'spike with a lifetime in the past saved') or diag explain $s;
$dry = run_at($H, dry_run => JSON::PP::true);
is(scalar @{$dry->{results}}, 44, 'past its lifetime: one alert per hit');

# Bad options are refused naming the field.
($st, my $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'spike', ratio => 0.5 }]));
is($st, 422, 'ratio 0.5 refused');
is($e->{error}{field}, 'filters[0].ratio', '... naming filters[0].ratio');
like($e->{error}{message}, qr/^spike: /, "... $e->{error}{message}");
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'spike', ratio => 3, on_error => 'maybe' }]));
is($e->{error}{field}, 'filters[0].on_error', 'on_error checked');

$d->stop;
done_testing;
