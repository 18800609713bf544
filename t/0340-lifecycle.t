#!/usr/bin/perl
# 0340-lifecycle.t -- the daemon's life: searches_dir files loaded and
# reloaded on SIGHUP (read-only through the API), a SIGTERM while a run is
# in flight lets it finish and commit, and after 411d was down the missed
# windows are replayed: every window queried exactly once, none skipped.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $sdir = tempdir('411-sd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Test411->new(redis => $redis, es => $es, searches_dir => $sdir);

sub put_file {
	my ($name, $def) = @_;
	open(my $fh, '>', "$sdir/$name") or die;
	print $fh $J->encode($def);
	close($fh);
}

# searches_dir
put_file('a.json', { name => 'file a', type => 'es', source => 'logs',
    query => 'program:a', result => 'count', schedule => { every => '1h' },
    enabled => JSON::PP::false });
$d->start;
my ($st, $j) = $d->api(GET => '/api/v1/searches');
is(scalar @{$j->{items}}, 1, 'the file search is loaded');
my $fa = $j->{items}[0];
is($fa->{origin}, 'file', 'origin file');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$fa->{id}", { name => 'x' });
is($st, 409, 'a file search is read-only through the API');
($st) = $d->api(DELETE => "/api/v1/searches/$fa->{id}");
is($st, 409, '... and cannot be deleted through it');

put_file('a.json', { name => 'file a v2', type => 'es', source => 'logs',
    query => 'program:a', result => 'count', schedule => { every => '1h' },
    enabled => JSON::PP::false });
put_file('b.json', { name => 'file b', type => 'es', source => 'logs',
    query => 'program:b', result => 'count', schedule => { every => '1h' },
    enabled => JSON::PP::false });
put_file('c.json', { name => 'broken', type => 'es', source => 'nope',
    schedule => { every => '1h' } });
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => '/api/v1/searches');
	$l && @{$l->{items}} == 2 && grep { $_->{name} eq 'file a v2' } @{$l->{items}};
}, 20), 'SIGHUP: the changed file reloaded, the new one added');
($st, $j) = $d->api(GET => "/api/v1/searches/$fa->{id}");
is($j->{name}, 'file a v2', 'the same id keeps the changed search');
is($j->{version}, 2, '... as version 2');
like($d->log_since($pos), qr/c\.json.*source/, 'a broken file is reported with its field');
unlink("$sdir/b.json", "$sdir/c.json");
$d->signal('HUP');
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => '/api/v1/searches');
	$l && @{$l->{items}} == 1;
}, 20), 'SIGHUP: a removed file removes its search');

# SIGTERM with a run in flight: it finishes and is committed
my $now = int(time * 1000);
$es->docs('logs-x', [ map { { '@timestamp' => $now - 30_000 + $_ * 1000,
    program => 'slow', host => "h$_" } } 1 .. 3 ]);
($st, my $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'slow', query => 'program:slow', range => '1h'));
my $sid = $s->{id};
$es->faults([{ method => 'POST', path => '_search', delay_ms => 2500,
    times => 1 }]);
my $pid = fork();
if ($pid == 0) {
	# a client that starts the run and does not wait for it, on its own
	# connection (the kept-alive one is the parent's)
	$d->{http} = HTTP::Tiny->new(timeout => 60);
	$d->api(POST => "/api/v1/searches/$sid/run", {});
	POSIX::_exit(0);	# no END blocks: they would stop the servers
}
ok($d->wait_for(sub { ($d->metric('four11_runs_in_flight') // 0) >= 1 }, 20),
    'a run is in flight');
is($d->stop, 0, 'SIGTERM: clean exit while a run was in flight');
waitpid($pid, 0);
$d->start;
($st, $j) = $d->api(GET => "/api/v1/searches/$sid/jobs");
is(scalar @{$j->{items}}, 1, 'the run in flight was finished and recorded');
is($j->{items}[0]{state}, 'success', '... as a success');
($st, $j) = $d->api(GET => "/api/v1/alerts?search=$sid");
is(scalar @{$j->{items}}, 3, '... with its 3 alerts');

# catch-up: windows of 2 s; 411d down for about 5 windows
$es->clear_faults;
($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'tick', query => 'program:tick', result => 'count',
    threshold => [0, undef], schedule => { every => '2s' }, range => '2s',
    enabled => JSON::PP::true));
my $tick = $s->{id};
$es->clear_requests;
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$tick/jobs");
	$l && @{$l->{items}} >= 2;
}, 30), 'the 2 s search runs');
$d->stop;
sleep 10;
$d->start;
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$tick/jobs?limit=1000");
	return 0 unless $l;
	my @w = grep { $_->{mode} eq 'scheduled' } @{$l->{items}};
	@w >= 9;
}, 40), 'after the restart the missed windows were run');
$d->stop;

# every window exactly once, contiguous, from the fake's own log
my @win;
my $reqs = $es->requests;
diag scalar(@$reqs) . ' requests in the fake\'s log';
for my $r (@$reqs) {
	next unless $r->{method} eq 'POST' && $r->{path} =~ /_search/;
	my $body = $r->{body} or next;
	next unless $J->encode($body) =~ /program:tick/;
	my $range;
	my @todo = ($body);
	while (@todo) {
		my $x = shift @todo;
		if (ref $x eq 'HASH') {
			$range = $x->{range}{'@timestamp'} if $x->{range};
			push @todo, values %$x;
		} elsif (ref $x eq 'ARRAY') {
			push @todo, @$x;
		}
	}
	push @win, [$range->{gte}, $range->{lt}] if $range;
}
@win = sort { $a->[0] <=> $b->[0] } @win;
cmp_ok(scalar @win, '>=', 8, scalar(@win) . ' windows queried');
my ($gaps, $dups) = (0, 0);
for my $i (1 .. $#win) {
	$dups++ if $win[$i][0] == $win[$i - 1][0];
	$gaps++ if $win[$i][0] != $win[$i - 1][1] && $win[$i][0] != $win[$i - 1][0];
}
is($dups, 0, 'no window queried twice');
is($gaps, 0, 'no window missed: each starts where the last ended');
is(scalar(grep { $_->[1] - $_->[0] != 2000 } @win), 0, 'every window 2 s long');

done_testing;
