#!/usr/bin/perl
# 0320-big-response.t -- the memory bound of streaming: a window whose
# answers add up to more than 200 MB of JSON is processed whole while
# 411d's peak resident memory stays under 64 MB.  Skipped under ASAN
# (its shadow memory makes RSS meaningless).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'RSS is meaningless under AddressSanitizer' if $ENV{T_ASAN};
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

my $now = int(time * 1000);
my $count = 110_000;
my $doc_bytes = 2_000;
$es->generate(index => 'logs-huge', count => $count, doc_bytes => $doc_bytes,
    start_ms => $now - 3_000_000, step_ms => 20);
$es->clear_requests;

my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'huge', query => '*', range => '2h', max_alerts => 10));
is($st, 201, 'search created') or diag explain $s;

my $rss0 = $d->peak_rss_kb;
ok($rss0, "peak RSS before: $rss0 kB");
($st, my $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
is($st, 200, 'run answered');
is($r->{state}, 'success', 'the huge window succeeded') or diag $r->{error};
is($r->{hits}, $count, "all $count hits processed");
ok($r->{truncated}, 'alert cap reported');

my $bytes = 0;
$bytes += $_->{response_bytes} // 0 for @{$es->requests};
cmp_ok($bytes, '>=', 200 * 1024 * 1024,
    sprintf('the fake sent %.0f MB', $bytes / 1048576));
my $rss = $d->peak_rss_kb;
cmp_ok($rss, '<', 64 * 1024, "peak RSS $rss kB stays under 64 MB");
diag sprintf('peak RSS %d kB for %.0f MB of responses', $rss,
    $bytes / 1048576);

is($d->stop, 0, 'clean stop');
done_testing;
