#!/usr/bin/perl
# 0310-es-flavours-errors.t -- the ES search type against every flavour of
# the fake (ES 6, 7, 8, OpenSearch 1 and 2): hits.total in each shape,
# count and no_results with thresholds, paging past 10 000 hits, the
# per-run alert cap reported, and the source's own words on failures.
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
my %es = map { $_ => FakeES->new(flavour => $_) } qw(es6 es7 es8 os1 os2);
my $d = Test411->new(redis => $redis, es => $es{es7},
    sources => join("\n", map {
	"source $_ es " . $es{$_}->url . " index logs-* timeout 10s"
    } qw(es6 es8 os1 os2)));
$d->start;

my $now = int(time * 1000);
my @docs = map { {
	'@timestamp' => $now - 1_200_000 + $_ * 1000,
	program => ($_ % 3 ? 'sshd' : 'cron'),
	host => "h$_",
	nested => { user => { name => "u$_" } },
} } 1 .. 12;	# 8 sshd, 4 cron
$_->docs('logs-a', \@docs) for values %es;

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

for my $src (qw(es6 logs es8 os1 os2)) {
	my $id = mk(name => "count $src", source => $src, result => 'count');
	my $r = run($id);
	is($r->{state}, 'success', "$src: count run succeeded")
	    or diag $r->{error};
	is(scalar @{$r->{results}}, 1, "$src: one count alert");
	is($r->{results}[0]{content}{count}, 8,
	    "$src: hits.total read in this flavour's shape (8)");

	$id = mk(name => "fields $src", source => $src, result => 'fields',
	    fields => ['host', 'nested.user.name']);
	$r = run($id);
	is(scalar @{$r->{results}}, 8, "$src: 8 alerts from fields");
	ok(defined $r->{results}[0]{content}{'nested.user.name'},
	    "$src: nested field selected by its dotted name");
}

# thresholds
my $id = mk(name => 'thr', result => 'count', threshold => [10, undef]);
is(scalar @{run($id)->{results}}, 0, 'count 8 below threshold [10,null]: no alert');
$id = mk(name => 'thr2', result => 'count', threshold => [1, 8]);
is(scalar @{run($id)->{results}}, 1, 'count 8 inside [1,8]: alert');
$id = mk(name => 'nores', result => 'no_results', query => 'program:nothing');
my $r = run($id);
is(scalar @{$r->{results}}, 1, 'no_results: alert when nothing matched');
$id = mk(name => 'nores2', result => 'no_results', query => 'program:sshd');
is(scalar @{run($id)->{results}}, 0, 'no_results: silent when hits exist');

# paging past 10 000 hits, and the alert cap
$es{es7}->generate(index => 'logs-big', count => 25_000, doc_bytes => 200,
    start_ms => $now - 3_000_000, step_ms => 100);
$es{es7}->clear_requests;
$id = mk(name => 'big', query => 'program:sshd', max_alerts => 50,
    range => '2h');
$r = run($id);
is($r->{state}, 'success', 'a 25 000-hit window succeeds') or diag $r->{error};
is($r->{hits}, 25_008, 'every hit of the window processed (25 000 + 8)');
is(scalar @{$r->{results}}, 51, 'alert cap 50, plus one truncation alert');
ok($r->{truncated}, 'the run says it was truncated');
is($r->{not_alerted}, 25_008 - 50, 'not_alerted counts what the cap held back');
my @searches = grep { $_->{path} =~ m{_search} && $_->{method} ne 'DELETE' }
    @{$es{es7}->requests};
cmp_ok(scalar @searches, '>=', 3, 'paged in several requests');
my @cleanup = grep { $_->{method} eq 'DELETE' } @{$es{es7}->requests};
ok($d->wait_for(sub { grep { $_->{method} eq 'DELETE' } @{$es{es7}->requests} }, 10),
    'the scroll / point in time is released');

# A full first page whose last date is shared by hits on both sides of
# the page boundary: the rest is paged in a search context from that date,
# and each hit is processed exactly once (point in time on es8, scroll on
# es6 and os2).
my @same = map { { '@timestamp' => $now - 3_000_000 + int($_ / 7) * 1000,
    program => 'batch', seq => $_ } } 0 .. 12_001;
for my $src (qw(es6 es8 os2)) {
	$es{$src}->docs('logs-same', \@same);
	$id = mk(name => "boundary $src", source => $src, query => 'program:batch',
	    fields => ['seq'], max_alerts => 20_000, range => '2h');
	$r = run($id);
	is($r->{state}, 'success', "$src: 12 002 hits over a page boundary")
	    or diag $r->{error};
	is($r->{hits}, 12_002, "$src: every hit counted once");
	my %seq;
	$seq{$_->{content}{seq}}++ for @{$r->{results}};
	is(scalar keys %seq, 12_002, "$src: every hit made its alert");
	is(scalar(grep { $_ > 1 } values %seq), 0, "$src: none twice");
}

# an index pattern that matches nothing is no hits; a missing named
# index is an error in the source's words
$id = mk(name => 'nomatch', index => 'nothing-*', result => 'no_results');
$r = run($id);
is($r->{state}, 'success', 'a pattern matching no index: success');
is(scalar @{$r->{results}}, 1, '... with no hits (no_results alerts)');
$id = mk(name => 'typo', index => 'logs-aa', result => 'no_results');
$r = run($id);
is($r->{state}, 'failed', 'a missing named index fails the run');
like($r->{error}, qr/no such index|index_not_found/, '... saying so')
    or diag $r->{error};

# errors in the source's own words
$id = mk(name => 'err');
$es{es7}->faults([{ method => 'POST', path => '_search', status => 400,
    times => 1, body => { error => {
	root_cause => [{ type => 'query_shard_exception',
	    reason => 'Failed to parse query [program:(]' }],
	type => 'search_phase_execution_exception',
	reason => 'all shards failed' }, status => 400 } }]);
$r = run($id);
is($r->{state}, 'failed', '400: run failed');
like($r->{error}, qr/Failed to parse query/, '400: the source\'s reason');

$es{es7}->faults([{ method => 'POST', path => '_search', status => 200,
    times => 1, shard_failure => JSON::PP::true }]);
$r = run($id);
is($r->{state}, 'failed', 'shard failures fail the run');
like($r->{error}, qr/shard/i, '... and say so');

$es{es7}->faults([{ method => 'POST', path => '_search', status => 503,
    times => 1, body => 'overloaded' }]);
$r = run($id);
is($r->{state}, 'failed', '503: run failed');
like($r->{error}, qr/503/, '... naming the status');

# times 2: curl retries a request once by itself when a kept-alive
# connection turns out dead, as it should (cleared after)
$es{es7}->faults([{ method => 'POST', path => '_search', drop => JSON::PP::true,
    times => 2 }]);
$r = run($id);
is($r->{state}, 'failed', 'dropped connection: run failed');
ok(length $r->{error}, '... with an error: ' . ($r->{error} // ''));
$es{es7}->clear_faults;

$es{es7}->faults([{ method => 'POST', path => '_search', garbage => JSON::PP::true,
    times => 1 }]);
$r = run($id);
is($r->{state}, 'failed', 'a garbage body fails the run');
like($r->{error}, qr/not valid JSON/, '... saying the response is not JSON')
    or diag $r->{error};

$es{es7}->faults([{ method => 'POST', path => '_search', truncate_bytes => 40,
    times => 1 }]);
$r = run($id);
is($r->{state}, 'failed', 'a truncated body fails the run');
ok(length $r->{error}, '... with an error: ' . ($r->{error} // ''));

$es{es7}->faults([{ method => 'POST', path => '_search', status => 500,
    times => 1, body => { error => { root_cause => [{ type => 'x',
    reason => 'boom in shard' }], type => 'x', reason => 'boom in shard' },
    status => 500 } }]);
$r = run($id);
is($r->{state}, 'failed', '500 fails the run');
like($r->{error}, qr/boom in shard/, '... with the source\'s reason');

$es{es7}->faults([{ method => 'POST', path => '_search', status => 406,
    times => 1, body => { error => 'Content-Type header [text/plain] is not supported',
    status => 406 } }]);
$r = run($id);
is($r->{state}, 'failed', '406 with a string error fails the run');
like($r->{error}, qr/Content-Type header \[text\/plain\] is not supported/,
    '... in the source\'s words') or diag $r->{error};

$es{es7}->clear_faults;
$r = run($id);
is($r->{state}, 'success', 'after the faults, runs succeed again');

is($d->stop, 0, 'clean stop');
done_testing;
