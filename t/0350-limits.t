#!/usr/bin/perl
# 0350-limits.t -- the limits on runs in flight: a source's
# max_concurrency and the global max_runs queue runs in 411d (never fail
# them), and the source never sees more requests at once than allowed.
use strict;
use warnings;
use Test::More;
use POSIX ();
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
my $es2 = FakeES->new(flavour => 'es7');

# Start runs of @ids at once (one client process each); returns the pids.
sub run_all {
	my ($d, @ids) = @_;
	my @pids;
	for my $id (@ids) {
		my $pid = fork();
		if ($pid == 0) {
			# its own connection: the kept-alive one is the parent's
			$d->{http} = HTTP::Tiny->new(timeout => 60);
			my ($st, $r, $raw) = eval {
				$d->api(POST => "/api/v1/searches/$id/run", {});
			};
			my $ok = defined $st && $st == 200 && ref $r &&
			    $r->{state} eq 'success';
			print STDERR "# run $id: ", ($st // $@), " ",
			    substr($raw // '', 0, 200), "\n" unless $ok;
			POSIX::_exit($ok ? 0 : 1);
		}
		push @pids, $pid;
	}
	return @pids;
}
my %status;	# pid -> exit status, once reaped
sub reap {
	my $bad = 0;
	for (@_) {
		unless (exists $status{$_}) {
			waitpid($_, 0);
			$status{$_} = $?;
		}
		$bad++ if $status{$_} != 0;
	}
	return $bad;
}
# True once every client in @_ has exited (only ever waits for them).
sub all_done {
	for (@_) {
		next if exists $status{$_};
		return 0 unless waitpid($_, POSIX::WNOHANG()) == $_;
		$status{$_} = $?;
	}
	return 1;
}
# Request arrival times of the searches in a fake's log.
sub starts {
	my ($f) = @_;
	return sort { $a <=> $b } map { $_->{time} }
	    grep { $_->{method} eq 'POST' && $_->{path} =~ /_search/ }
	    @{$f->requests};
}

# per-source max_concurrency 1
my $d = Test411->new(redis => $redis, es => $es,
    sources => 'source one es ' . $es->url . ' index logs-* max_concurrency 1');
$d->start;
my @ids;
for my $i (1 .. 3) {
	my ($st, $s) = $d->api(POST => '/api/v1/searches',
	    $d->es_search(name => "c$i", source => 'one', range => '1h'));
	push @ids, $s->{id};
}
$es->faults([{ method => 'POST', path => '_search', delay_ms => 1200,
    times => 3 }]);
$es->clear_requests;
my @pids = run_all($d, @ids);
my ($max_in, $max_wait) = (0, 0);
my $t0 = time;
while (time - $t0 < 30) {
	my $in = $d->metric('four11_runs_in_flight') // 0;
	my $w = $d->metric('four11_runs_waiting') // 0;
	$max_in = $in if $in > $max_in;
	$max_wait = $w if $w > $max_wait;
	last if all_done(@pids);
	sleep(0.1);
}
is(reap(@pids), 0, 'all 3 runs succeeded (queued, not refused)');
cmp_ok($max_in, '<=', 1, "never more than 1 run in flight ($max_in)");
cmp_ok($max_wait, '>=', 1, "runs waited their turn in 411d ($max_wait)");
my @t = starts($es);
is(scalar @t, 3, 'the source saw 3 searches');
my $overlap = grep { $t[$_] - $t[$_ - 1] < 1.0 } 1 .. $#t;
is($overlap, 0, 'one at a time: each began after the last one ended');
$d->stop;

# global max_runs 1 across two sources
$d = Test411->new(redis => $redis, es => $es,
    sources => 'source two es ' . $es2->url . ' index logs-*',
    conf => 'max_runs 1');
$d->start;
my ($st, $s1) = $d->api(POST => '/api/v1/searches',
    $d->es_search(name => 'g1', range => '1h'));
($st, my $s2) = $d->api(POST => '/api/v1/searches',
    $d->es_search(name => 'g2', source => 'two', range => '1h'));
$_->faults([{ method => 'POST', path => '_search', delay_ms => 1200,
    times => 1 }]) for $es, $es2;
$_->clear_requests for $es, $es2;
@pids = run_all($d, $s1->{id}, $s2->{id});
is(reap(@pids), 0, 'both runs succeeded under max_runs 1');
my ($a) = starts($es);
my ($b) = starts($es2);
ok(defined $a && defined $b && abs($a - $b) >= 1.0,
    'the two sources were not searched at the same time');
$d->stop;

# the limit adapts: halved by refusals, grown back by successes (B4)
$d = Test411->new(redis => $redis, es => $es,
    sources => 'source ad es ' . $es->url . ' index logs-* max_concurrency 8');
$d->start;
($st, my $sa) = $d->api(POST => '/api/v1/searches',
    $d->es_search(name => 'adaptive', source => 'ad', range => '1h'));
sub limit_now {
	# The limit is a detail: /healthz shows it with a key.
	my (undef, $h) = $d->api(GET => '/healthz', undef, key => 'viewer');
	return $h->{sources}{ad}{limit};
}
is(limit_now(), 8, 'the limit starts at max_concurrency');
$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'busy', times => 3 }]);
my @seen;
for (1 .. 3) {
	# One cut a second at most (a burst of 503s halves it once).
	sleep 1.1 if $_ > 1;
	$d->api(POST => "/api/v1/searches/$sa->{id}/run", {});
	push @seen, limit_now();
}
is_deeply(\@seen, [4, 2, 1], 'each 503 a second apart halves it: 4, 2, 1');
$es->clear_faults;
@seen = ();
for (1 .. 3) {
	$d->api(POST => "/api/v1/searches/$sa->{id}/run", {});
	push @seen, limit_now();
}
is_deeply(\@seen, [2, 3, 4], 'each success adds one back');
$es->faults([{ method => 'POST', path => '_search', status => 400,
    body => { error => { type => 'x', reason => 'bad query' }, status => 400 },
    times => 1 }]);
$d->api(POST => "/api/v1/searches/$sa->{id}/run", {});
is(limit_now(), 4, 'a 400 (our fault, not overload) leaves it');
$es->clear_faults;
$d->stop;

done_testing;
