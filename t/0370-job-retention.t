#!/usr/bin/perl
# 0370-job-retention.t -- job records older than job_retention are pruned
# (B5); younger ones stay.
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
my $d = Test411->new(redis => $redis, es => $es, conf => 'job_retention 4s');
$d->start;

my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(range => '1h'));
my $id = $s->{id};
my $name = $s->{name};
$d->api(POST => "/api/v1/searches/$id/run", {}) for 1 .. 3;
my (undef, $j) = $d->api(GET => "/api/v1/searches/$id/jobs");
is(scalar @{$j->{items}}, 3, '3 job records');
sleep 2.5;
$d->api(POST => "/api/v1/searches/$id/run", {});
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$id/jobs");
	$l && @{$l->{items}} == 1;
}, 20), 'the 3 old ones are pruned');
(undef, $j) = $d->api(GET => "/api/v1/searches/$id/jobs");
is(scalar @{$j->{items}}, 1, 'the younger one is still there');
cmp_ok($d->metric('four11_jobs_pruned_total'), '>=', 3, 'pruning is counted');
ok($d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$id/jobs");
	$l && @{$l->{items}} == 0;
}, 20), '... and goes too once it is old');
(undef, $s) = $d->api(GET => "/api/v1/searches/$id");
is($s->{name}, $name, 'the search itself stays');
is($d->stop, 0, 'clean stop');
done_testing;
