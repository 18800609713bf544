#!/usr/bin/perl
# 0450-search-events.t -- search.failed / search.recovered (B7): a failing
# scheduled search is announced once, its recovery once; a second failure
# within failure_event_every is not announced, nor its recovery.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $J = JSON::PP->new;
my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es,
    conf => 'failure_event_every 1h');
$d->start;

sub events {
	my @out;
	for my $e (@{$redis->cmd('XRANGE', '411:events', '-', '+')}) {
		my %f = @{$e->[1]};
		push @out, { type => $f{type}, p => $J->decode($f{payload}) };
	}
	return @out;
}
sub count { my ($t) = @_; return scalar grep { $_->{type} eq $t } events() }
sub jobs {
	my ($id) = @_;
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$id/jobs?limit=1000");
	return @{$l->{items} // []};
}

$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'overloaded', times => 1 }]);
my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'flaky', result => 'count', threshold => [0, undef],
    schedule => { every => '1h' }, range => '1h', enabled => JSON::PP::true));
is($st, 201, 'a scheduled search');
my $id = $s->{id};
ok($d->wait_for(sub { count('search.failed') == 1 }, 20),
    'its failure is announced');
my ($f) = grep { $_->{type} eq 'search.failed' } events();
like($f->{p}{error}{message}, qr/503/, '... with the error');
is($f->{p}{search}{id}, $id, '... and the search');
ok($f->{p}{error}{since}, '... and since when');
ok($d->wait_for(sub { count('search.recovered') == 1 }, 30),
    'the retry succeeds and the recovery is announced');

# a second search fails once too: announced on its own
$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'overloaded again', times => 1 }]);
($st, my $s2) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'flaky2', result => 'count', threshold => [0, undef],
    schedule => { every => '1h' }, range => '1h', enabled => JSON::PP::true));
ok($d->wait_for(sub {
	grep { $_->{p}{search}{id} == $s2->{id} && $_->{type} eq 'search.failed' }
	    events() }, 20), 'another search\'s failure is announced on its own');
ok($d->wait_for(sub {
	grep { $_->{p}{search}{id} == $s2->{id} && $_->{type} eq 'search.recovered' }
	    events() }, 30), '... and its recovery');
is(count('search.failed'), 2, 'one search.failed per search');
is(count('search.recovered'), 2, 'one search.recovered per search');

# the first search fails and recovers again within the hour: silence
$es->faults([{ method => 'POST', path => '_search', status => 503,
    body => 'overloaded a third time', times => 1 }]);
$d->api(PATCH => "/api/v1/searches/$id", { schedule => { every => '2s' },
    range => '2s' });
ok($d->wait_for(sub {
	grep { ($_->{error} // '') =~ /a third time/ } jobs($id) }, 30),
    'the first search failed again');
ok($d->wait_for(sub { (jobs($id))[0]{state} eq 'success' }, 30),
    '... and runs again');
sleep 1;
is(count('search.failed'), 2, 'the second failure within the hour is not announced');
is(count('search.recovered'), 2, '... nor its recovery');

is($d->stop, 0, 'clean stop');
done_testing;
