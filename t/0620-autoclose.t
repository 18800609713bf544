#!/usr/bin/perl
# 0620-autoclose.t -- D5: alerts idle longer than their search's autoclose
# are resolved as too_old by the periodic task, logged (actor 411) and
# announced with alert.resolved; others are left alone.  The clock is
# moved with the FOUR11_CLOCK_OFFSET_MS test hook across a restart (the
# task runs 1 s after start).
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
delete $ENV{FOUR11_CLOCK_OFFSET_MS};
$d->start;

my ($st, $s1) = $d->api(POST => '/api/v1/searches', { name => 'closes',
    type => 'push', autoclose => '1h' });
is($st, 201, 'a search with autoclose 1h') or diag explain $s1;
($st, my $s2) = $d->api(POST => '/api/v1/searches', { name => 'stays',
    type => 'push' });
is($st, 201, 'a search without');
($st, my $s3) = $d->api(POST => '/api/v1/searches', { name => 'long',
    type => 'push', autoclose => '1d' });
my %r;
for my $s ($s1, $s2, $s3) {
	(undef, $r{$s->{id}}) = $d->api(POST => "/api/v1/push/$s->{id}",
	    [ map { { content => { n => $_ } } } 1 .. 4 ]);
}
sub ids_of {
	my ($sid) = @_;
	my (undef, $l) = $d->api(GET => "/api/v1/alerts?search=$sid");
	return sort { $a <=> $b } map { $_->{id} } @{$l->{items}};
}
my @a1 = ids_of($s1->{id});
my @a2 = ids_of($s2->{id});
my @a3 = ids_of($s3->{id});
is(scalar @a1 + @a2 + @a3, 12, '4 alerts each');
$d->api(POST => '/api/v1/alerts/actions', { ids => [$a1[0]],
    action => 'resolve', resolution => 'action_taken' });
$d->api(POST => '/api/v1/alerts/actions', { ids => [$a1[1]],
    action => 'acknowledge' });
sleep 2;	# the first pass ran: nothing is idle yet
(undef, my $l) = $d->api(GET => "/api/v1/alerts?state=resolved");
is(scalar @{$l->{items}}, 1, 'nothing closed at the real time');
ok($d->wait_for(sub { @{$redis->cmd('XRANGE', '411:events', '-', '+')} >= 14 },
    20), 'the events so far are in Redis');
my $nev = @{$redis->cmd('XRANGE', '411:events', '-', '+')};
is($d->stop, 0, 'stopped');

# Two hours later.
$ENV{FOUR11_CLOCK_OFFSET_MS} = 2 * 3600 * 1000;
$d->start;
delete $ENV{FOUR11_CLOCK_OFFSET_MS};
like($d->log, qr/clock moved by 7200000 ms/, 'the clock hook is logged');
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/alerts?search=$s1->{id}&state=resolved");
	@{$l->{items}} == 4 }, 30), 'the idle alerts of "closes" are resolved');
for my $id (@a1[1 .. 3]) {
	my (undef, $a) = $d->api(GET => "/api/v1/alerts/$id");
	is($a->{resolution}, 'too_old', "alert $id: too_old");
	my (undef, $lg) = $d->api(GET => "/api/v1/alerts/$id/log");
	my $e = $lg->{items}[-1];
	is($e->{actor}, '411', '... logged by 411');
	is($e->{action}, 'autoclose', '... as autoclose');
	like($e->{note}, qr/1h/, '... saying the idle time');
}
my (undef, $a0) = $d->api(GET => "/api/v1/alerts/$a1[0]");
is($a0->{resolution}, 'action_taken', 'an alert resolved before keeps its resolution');
for my $id (@a2, @a3) {
	my (undef, $a) = $d->api(GET => "/api/v1/alerts/$id");
	is($a->{state}, 'new', "alert $id of another search stays new");
}
ok($d->wait_for(sub { @{$redis->cmd('XRANGE', '411:events', '-', '+')} >= $nev + 3 },
    20), 'three events');
my $ev = $redis->cmd('XRANGE', '411:events', '-', '+');
my @new = map { { @{$_->[1]} } } @$ev[$nev .. $#$ev];
is_deeply([map { $_->{type} } @new], [('alert.resolved') x 3],
    'alert.resolved for each') or diag explain \@new;
is_deeply([sort { $a <=> $b } map { $J->decode($_->{payload})->{alert}{id} } @new],
    [@a1[1 .. 3]], '... of the closed alerts');
my (undef, $c) = $d->api(GET => '/api/v1/alerts/counts');
is($c->{state}{resolved}, 4, 'the counts follow');
is($d->stop, 0, 'stopped');

# Two days later: the 1d search's alerts too.
$ENV{FOUR11_CLOCK_OFFSET_MS} = 2 * 86400 * 1000;
$d->start;
delete $ENV{FOUR11_CLOCK_OFFSET_MS};
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/alerts?search=$s3->{id}&state=resolved");
	@{$l->{items}} == 4 }, 30), 'after two days, the 1d alerts are closed');
(undef, $l) = $d->api(GET => "/api/v1/alerts?search=$s2->{id}&state=new");
is(scalar @{$l->{items}}, 4, 'a search without autoclose keeps its alerts open');
is($d->stop, 0, 'clean stop');

# A bad offset refuses to start.
$ENV{FOUR11_CLOCK_OFFSET_MS} = 'soon';
ok(!eval { $d->start(timeout => 10); 1 }, 'a bad FOUR11_CLOCK_OFFSET_MS: no start');
delete $ENV{FOUR11_CLOCK_OFFSET_MS};
done_testing;
