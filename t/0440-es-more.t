#!/usr/bin/perl
# 0440-es-more.t -- more of the ES search type: date-based index patterns
# (logs-%Y.%m.%d expanded over the window, lenient about missing days),
# links to Kibana's document view (link_url), and aggregations.
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
my $es = FakeES->new(flavour => 'es7');
my $os = FakeES->new(flavour => 'os2');
my $d = Test411->new(redis => $redis, es => $es,
    sources => join("\n",
	"source dated es " . $es->url . ' index day-%Y.%m.%d timeout 10s',
	"source kib es " . $es->url . ' index logs-* timeout 10s' .
	    ' link_url http://kibana.example:5601',
	"source os es " . $os->url . ' index day-%Y.%m.%d timeout 10s'));
$d->start;

sub mk {
	my (%o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    range => '1h', %o));
	is($st, 201, "created $o{name}") or diag explain $s;
	return $s->{id};
}
sub run {
	my ($id, %o) = @_;
	my ($st, $r) = $d->api(POST => "/api/v1/searches/$id/run",
	    { dry_run => JSON::PP::true, %o });
	is($st, 200, "run of $id answered") or diag explain $r;
	return $r;
}
sub search_paths {
	my ($fake) = @_;
	return map { $_->{path} } grep { $_->{path} =~ m{_search|_pit} &&
	    $_->{method} ne 'DELETE' } @{$fake->requests};
}

# --- 1. date-based index patterns
# 2026-11-24T23:40Z .. 2026-11-25T00:20Z: the window [23:30, 00:30)
# spans midnight, so it touches two daily indices.
my $mid = 1795564800 * 1000;	# 2026-11-25T00:00:00Z
for my $fake ($es, $os) {
	$fake->docs('day-2026.11.24', [map { { '@timestamp' => $mid - $_ * 600_000,
	    program => 'sshd', host => "y$_" } } 1 .. 2]);	# 23:50, 23:40
	$fake->docs('day-2026.11.25', [map { { '@timestamp' => $mid + $_ * 600_000,
	    program => 'sshd', host => "t$_" } } 1 .. 3]);	# 00:10 .. 00:30
	$fake->docs('day-2026.11.23', [{ '@timestamp' => $mid - 1_800_000,
	    program => 'sshd', host => 'wrong-index' }]);
}
my $at = '2026-11-25T00:30:00Z';
for my $src (qw(dated os)) {
	my $fake = $src eq 'os' ? $os : $es;
	my $id = mk(name => "dated $src", source => $src, fields => ['host']);
	$fake->clear_requests;
	my $r = run($id, at => $at);
	is($r->{state}, 'success', "$src: dated pattern over midnight")
	    or diag $r->{error};
	is_deeply([sort map { $_->{content}{host} } @{$r->{results}}],
	    [qw(t1 t2 y1 y2)], "$src: the hits of both days, not the day before");
	my @p = search_paths($fake);
	ok(scalar(grep { m{^/day-2026\.11\.24,day-2026\.11\.25/_search} } @p),
	    "$src: the request names the two days") or diag explain \@p;
	my @q = map { $_->{qs} // "" } grep { $_->{path} =~ /_search/ }
	    @{$fake->requests};
	like($q[0] // '', qr/ignore_unavailable=true/,
	    "$src: ... leniently") or diag explain $fake->requests;
}

# A day with no index yet is no hits, not an error.
my $id = mk(name => 'dated future', source => 'dated', result => 'no_results');
$es->clear_requests;
my $r = run($id, at => '2026-12-03T00:30:00Z');
is($r->{state}, 'success', 'a day without its index: success')
    or diag $r->{error};
is(scalar @{$r->{results}}, 1, '... and no hits (no_results alerts)');
ok(scalar(grep { m{^/day-2026\.12\.02,day-2026\.12\.03/_search} }
    search_paths($es)), '... for the days named');

# The search's own index, hourly; a long window falls back to '*'.
$id = mk(name => 'hourly', index => 'day-%Y.%m.%d-%H', result => 'count',
    range => '3h');
$es->clear_requests;
$r = run($id, at => '2026-11-25T01:30:00Z');
is($r->{state}, 'success', 'hourly pattern') or diag $r->{error};
ok(scalar(grep { m{^/day-2026\.11\.24-22,day-2026\.11\.24-23,day-2026\.11\.25-00,day-2026\.11\.25-01/_search} }
    search_paths($es)), '... expanded by the hour') or diag explain [search_paths($es)];
$es->docs('hr-2026.11.24-23', [{ '@timestamp' => $mid - 60_000,
    program => 'sshd' }]);
$es->docs('hr-2026.11.01-00', [map { { '@timestamp' => $mid - 24 * 86400_000,
    program => 'sshd' } } 1 .. 2]);
$id = mk(name => 'long', index => 'hr-%Y.%m.%d-%H', result => 'count',
    range => '30d');
$es->clear_requests;
$r = run($id, at => $at);
is($r->{state}, 'success', '720 hours') or diag $r->{error};
ok(scalar(grep { m{^/hr-\*\.\*\.\*-\*/_search} } search_paths($es)),
    '... more than 400 names: the date parts become *')
    or diag explain [search_paths($es)];
is($r->{results}[0]{content}{count}, 3, '... which finds every hour')
    or diag explain $r;

# --- 2. links to the document in Kibana / OpenSearch Dashboards
$es->docs('logs-a', [{ _id => 'doc-1', '@timestamp' => $mid - 60_000,
    program => 'sshd', host => 'linked' }]);
$id = mk(name => 'linked', source => 'kib', fields => ['host']);
$r = run($id, at => $at);
is($r->{state}, 'success', 'run with link_url') or diag $r->{error};
is(scalar @{$r->{results}}, 1, 'one alert');
is($r->{results}[0]{source_url},
    'http://kibana.example:5601/app/discover#/doc/logs-*/logs-a?id=doc-1',
    'source_url: Discover\'s view of the one document');
$id = mk(name => 'unlinked', source => 'dated', fields => ['host']);
$r = run($id, at => $at);
ok(!defined $r->{results}[0]{source_url}, 'no link_url: no source_url');

# --- 3. aggregations: one alert per bucket row
my @web;
my %n = ('web-1' => 5, 'web-2' => 3, 'web-3' => 1);
my $i = 0;
for my $h (sort keys %n) {
	for my $k (1 .. $n{$h}) {
		$i++;
		push @web, { '@timestamp' => $mid - $i * 60_000, program => 'web',
		    host => $h, status => ($k % 2 ? 200 : 500),
		    user => 'u' . ($k % 3), bytes => $k * 10 };
	}
}
$es->docs('logs-web', \@web);
sub rows {
	my ($r, @keys) = @_;
	return [sort map { my $c = $_->{content}; join ' ', map {
	    $c->{$_} // 'undef' } @keys } @{$r->{results}}];
}
$id = mk(name => 'agg', query => 'program:web',
    aggregation => { terms => 'host', size => 10 });
$es->clear_requests;
$r = run($id, at => $at);
is($r->{state}, 'success', 'terms aggregation') or diag $r->{error};
is_deeply(rows($r, qw(host count)), ['web-1 5', 'web-2 3', 'web-3 1'],
    'one alert per host with its count') or diag explain $r->{results};
my ($req) = grep { $_->{path} =~ /_search/ } @{$es->requests};
is($req->{body}{size}, 0, 'the request asks for no hits');
is_deeply($req->{body}{aggs}{a}{terms}, { field => 'host', size => 10 },
    '... and a terms aggregation') or diag explain $req->{body};

$id = mk(name => 'agg thr', query => 'program:web', threshold => [3, undef],
    aggregation => { terms => 'host' });
is_deeply(rows(run($id, at => $at), qw(host count)), ['web-1 5', 'web-2 3'],
    'threshold [3,null] on each bucket\'s count');
$id = mk(name => 'agg thr2', query => 'program:web', threshold => [2, 4],
    aggregation => { terms => 'host' });
is_deeply(rows(run($id, at => $at), qw(host count)), ['web-2 3'],
    'threshold [2,4]: only the bucket inside (9 hits in all do not matter)');
$id = mk(name => 'agg thr3', query => 'program:web', threshold => [6, undef],
    aggregation => { terms => 'host' });
is_deeply(rows(run($id, at => $at), qw(host count)), [],
    'no bucket inside: no alert');
$id = mk(name => 'agg size', query => 'program:web',
    aggregation => { terms => 'host', size => 2 });
is_deeply(rows(run($id, at => $at), qw(host count)), ['web-1 5', 'web-2 3'],
    'size 2: the two biggest buckets');

$id = mk(name => 'agg nested', query => 'program:web',
    aggregation => { terms => 'host', nested => { terms => 'status' } });
$r = run($id, at => $at);
is($r->{state}, 'success', 'nested terms') or diag $r->{error};
is_deeply(rows($r, qw(host status count)), ['web-1 200 3', 'web-1 500 2',
    'web-2 200 2', 'web-2 500 1', 'web-3 200 1'],
    'one alert per (host, status) row') or diag explain $r->{results};

$id = mk(name => 'agg metric', query => 'program:web',
    aggregation => { terms => 'host', metric => { cardinality => 'user' } });
is_deeply(rows(run($id, at => $at), qw(host count cardinality)),
    ['web-1 5 3', 'web-2 3 3', 'web-3 1 1'], 'a cardinality per bucket');
$id = mk(name => 'agg nested metric', query => 'program:web',
    threshold => [2, undef], aggregation => { terms => 'host',
    nested => { terms => 'status' }, metric => { sum => 'bytes' } });
is_deeply(rows(run($id, at => $at), qw(host status count sum)),
    ['web-1 200 3 90', 'web-1 500 2 60', 'web-2 200 2 40'],
    'nested rows with a sum, threshold on each row\'s count');

for my $bad ([{ terms => 'host' }, result => 'count'],
    [{ terms => 'host', metric => { median => 'x' } }],
    [{ size => 3 }], [{ terms => 'host', size => 0 }],
    [{ terms => 'host', bogus => 1 }]) {
	my ($agg, %o) = @$bad;
	my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    name => 'bad agg', aggregation => $agg, %o));
	is($st, 422, 'refused: ' . JSON::PP->new->canonical->encode($agg))
	    or diag explain $e;
}

is($d->stop, 0, 'clean stop');
done_testing;
