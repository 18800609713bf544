#!/usr/bin/perl
# 0455-es-faults.t -- failed runs against Elasticsearch are retried soon,
# by the class of the failure (issue 11, defect 7): a 500 is retried in
# about a second, not at the back-off cap (it waited ~57 s, and 5 min for
# an hourly search); a 429's Retry-After is honoured and halves the
# source's concurrency (four11_source_concurrency); under a mix of faults
# (500, 429, 503, garbage, dropped connections, answers past the timeout)
# every window is committed exactly once, in order.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Time::Local qw(timegm);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es,
    sources => "source flaky es " . $es->url
    . " index logs-* timeout 2s max_concurrency 8");
$d->start;

# An API time ("2026-12-04T16:39:08Z") in epoch seconds.
sub iso_s {
	my ($t) = @_;
	$t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)/ or return 0;
	return timegm($6, $5, $4, $3, $2 - 1, $1);
}

# Scheduled jobs of search $id, oldest first.
sub jobs {
	my ($id) = @_;
	my ($st, $j) = $d->api(GET => "/api/v1/searches/$id/jobs?limit=1000");
	return [] unless $st == 200;
	return [reverse grep { $_->{mode} eq 'scheduled' } @{$j->{items}}];
}
sub successes { [grep { $_->{state} eq 'success' } @{jobs($_[0])}] }
# The fake's search requests whose path matches $re, with their times.
sub searches_to {
	my ($re) = @_;
	return [grep { $_->{method} eq 'POST' && $_->{path} =~ $re }
	    @{$es->requests}];
}
sub mksearch {
	my (%o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    enabled => JSON::PP::true, %o));
	is($st, 201, "created $o{name}") or diag explain $s;
	return $s->{id};
}

# 1. A 500, then success: retried within seconds, committed once.
$es->faults([{ method => 'POST', path => '^/t500[^/]*/_search', status => 500,
    times => 1 }]);
my $t = time;
my $id = mksearch(name => 'hourly 500', index => 't500*',
    schedule => { every => '1h' });
my $ok = $d->wait_for(sub { @{successes($id)} }, 30);
ok($ok, 'a 500 is retried soon: the window committed within 30 s '
    . '(the cap for an hourly search is 5 min)')
    or diag explain jobs($id);
my $jobs = jobs($id);
my @failed = grep { $_->{state} eq 'failed' } @$jobs;
my @succ = grep { $_->{state} eq 'success' } @$jobs;
is(scalar @failed, 1, 'one failed try') or diag explain $jobs;
like($failed[0]{error} // '', qr/answered 500/, 'in the source\'s words');
is(scalar @succ, 1, 'committed once');
is_deeply($succ[0]{window}, $failed[0]{window},
    'the retry ran the same window') if @succ && @failed;
my $reqs = searches_to(qr{^/t500});
is(scalar @$reqs, 2, 'two searches reached the cluster');
ok(@$reqs == 2 && $reqs->[1]{time} - $reqs->[0]{time} < 30,
    sprintf('the retry came %.1f s after the 500', @$reqs == 2 ?
    $reqs->[1]{time} - $reqs->[0]{time} : -1));
ok(($d->metric('four11_source_failures_total{source="logs",class="retry"}')
    // 0) >= 1, 'counted as class retry');
is($d->metric('four11_source_concurrency{source="logs"}'), 32,
    'a 500 does not shrink the concurrency (max_concurrency 32)');
$d->api(PATCH => "/api/v1/searches/$id", { enabled => JSON::PP::false });

# 2. A 429 with Retry-After: 3 is waited for, and halves the concurrency.
$es->faults([{ method => 'POST', path => '^/t429[^/]*/_search', status => 429,
    headers => { 'Retry-After' => '3' }, times => 1 }]);
$id = mksearch(name => 'hourly 429', index => 't429*',
    schedule => { every => '1h' });
$ok = $d->wait_for(sub { @{successes($id)} }, 30);
ok($ok, '429: retried, committed') or diag explain jobs($id);
$reqs = searches_to(qr{^/t429});
is(scalar @$reqs, 2, 'two searches');
my $gap = @$reqs == 2 ? $reqs->[1]{time} - $reqs->[0]{time} : -1;
ok($gap >= 2.5 && $gap < 30, sprintf('Retry-After 3 honoured: the retry '
    . 'came %.1f s later', $gap));
is(scalar @{successes($id)}, 1, 'committed once');
is($d->metric('four11_source_concurrency{source="logs"}'), 16,
    'a 429 halved the concurrency, 32 to 16');
ok(($d->metric('four11_source_failures_total{source="logs",class="overload"}')
    // 0) == 1, 'counted as class overload');
$d->api(PATCH => "/api/v1/searches/$id", { enabled => JSON::PP::false });

# 3. A mix of faults on every search of three searches every second:
# every window committed exactly once, in order, none skipped.
$es->clear_faults;
my $mixpath = '^/mix[^/]*/_search';
$es->faults([
    { path => $mixpath, status => 500, every => 7, offset => 1 },
    { path => $mixpath, status => 429, headers => { 'Retry-After' => '1' },
      every => 11, offset => 2 },
    { path => $mixpath, status => 503, every => 13, offset => 4 },
    { path => $mixpath, garbage => JSON::PP::true, every => 17, offset => 6 },
    { path => $mixpath, drop => JSON::PP::true, every => 19, offset => 8 },
    # past the source's 2 s timeout
    { path => $mixpath, delay_ms => 3000, every => 23, offset => 10 },
]);
my $t0 = int(time) + 1;
my @mix = map {
	mksearch(name => "mix $_", source => 'flaky', index => 'mix*',
	    schedule => { every => '1s' }, range => '1s')
} 1 .. 3;
my $want = $t0 + 25;	# windows up to here
sub last_to {
	my $s = successes($_[0]);
	return @$s ? iso_s($s->[-1]{window}{to}) : 0;
}
$ok = $d->wait_for(sub { !grep { last_to($_) < $want } @mix }, 150);
ok($ok, 'three searches every second went 25 s past their start under '
    . 'faults') or diag explain [map { last_to($_) } @mix];
$d->api(PATCH => "/api/v1/searches/$_", { enabled => JSON::PP::false })
    for @mix;
sleep 0.5;
my ($windows, $tries) = (0, 0);
for my $m (@mix) {
	my $all = jobs($m);
	$tries += @$all;
	my $s = [grep { $_->{state} eq 'success' } @$all];
	my (%seen, $gaps, $dups, $prev);
	for my $j (@$s) {
		$dups++ if $seen{$j->{window}{to}}++;
		$gaps++ if defined $prev && $j->{window}{from} ne $prev;
		$prev = $j->{window}{to};
	}
	my $span = @$s ? iso_s($s->[-1]{window}{to})
	    - iso_s($s->[0]{window}{from}) : 0;
	is($dups // 0, 0, "mix $m: no window committed twice");
	is($gaps // 0, 0, "mix $m: windows contiguous");
	is(scalar @$s, $span, "mix $m: $span one-second windows, each once");
	$windows += @$s;
}
my $f = $es->control(GET => '/_fake/faults');
my @hits = map { $_->{hits} // 0 } @{ref $f eq 'HASH' ? $f->{faults} : $f};
is(scalar(grep { $_ > 0 } @hits), 6, 'every kind of fault was hit: '
    . join(' ', @hits));
ok($tries > $windows, "$tries tries for $windows windows");
my %cls = map { $_ => $d->metric('four11_source_failures_total{source="flaky",'
    . "class=\"$_\"}") // 0 } qw(retry overload slow final);
ok($cls{retry} > 0 && $cls{overload} > 0 && $cls{slow} > 0 &&
    $cls{final} == 0, 'failures classified: ' . join(' ', map { "$_=$cls{$_}" }
    sort keys %cls));
my $conc = $d->metric('four11_source_concurrency{source="flaky"}');
ok(defined $conc && $conc >= 1 && $conc <= 8,
    "four11_source_concurrency within 1..8 ($conc)");

$d->stop;
done_testing;
