#!/usr/bin/perl
# 0380-cron.t -- cron schedules through the API: a cron search is stored
# (201) and scheduled on its fire times (next_run and the checkpoint on
# whole minutes; a yearly Europe/Berlin cron lands on local midnight);
# bad expressions and zones are refused with 422 naming the field.  No
# test waits for a minute to pass.
use strict;
use warnings;
use Test::More;
use Time::Local qw(timegm);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;
plan skip_all => 'no tz database' unless -f '/usr/share/zoneinfo/Europe/Berlin';

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es8');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

# refused definitions
my @bad = (
	[{ schedule => { cron => '61 * * * *' }, range => '1m' },
	    'schedule.cron', qr/minute: 61 is out of range 0-59/],
	[{ schedule => { cron => '* * *' }, range => '1m' },
	    'schedule.cron', qr/expected 5 fields/],
	[{ schedule => { cron => '0 0 * * funday' }, range => '1m' },
	    'schedule.cron', qr/day-of-week: "funday"/],
	[{ schedule => { cron => '* * * * *', tz => 'Mars/Olympus_Mons' },
	    range => '1m' }, 'schedule.tz', qr/Mars\/Olympus_Mons/],
	[{ schedule => { every => '5m', tz => 'Europe/Berlin' } },
	    'schedule.tz', qr/only with cron/],
	[{ schedule => { cron => '* * * * *' } }, 'range', qr/required/],
	[{ schedule => { cron => '* * * * *', every => '1m' }, range => '1m' },
	    'schedule', qr/either/],
);
for my $b (@bad) {
	my ($st, $j) = $d->api(POST => '/api/v1/searches',
	    $d->es_search(%{$b->[0]}));
	is($st, 422, "refused: 422 ($b->[1])");
	is($j->{error}{field}, $b->[1], "... naming $b->[1]") or diag explain $j;
	like($j->{error}{message}, $b->[2], '... saying why');
}

# every minute, one-minute windows
my ($st, $j) = $d->api(POST => '/api/v1/searches', $d->es_search(
    schedule => { cron => '* * * * *' }, range => '1m', delay => '0s',
    enabled => JSON::PP::true));
is($st, 201, 'a cron search is created: 201') or diag explain $j;
my $id = $j->{id};
is_deeply($j->{schedule}, { cron => '* * * * *' }, 'schedule kept as given');
# Its first run covers the latest complete minute; then it waits for the
# next.  Retry while a run in flight straddles a minute.
my $s = $d->wait_for(sub {
	my ($st2, $g) = $d->api(GET => "/api/v1/searches/$id");
	return ($st2 == 200 && defined $g->{status}{checkpoint} &&
	    defined $g->{status}{next_run} &&
	    $g->{status}{next_run} =~ /:00Z\z/) ? $g : undef;
}, 30);
ok($s, 'the first window ran') or diag explain $s;
like($s->{status}{next_run} // '', qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:00Z\z/,
    'next_run is on a whole minute');
like($s->{status}{checkpoint} // '', qr/:00Z\z/,
    'the checkpoint is on a whole minute');
ok(($s->{status}{next_run} // '') gt ($s->{status}{checkpoint} // 'z'),
    'next_run comes after the checkpoint');

# once a year, local midnight in Berlin (23:00Z on 31 December)
my $y = (gmtime)[5] + 1900;
$y++ if time >= timegm(0, 0, 23, 31, 11, $y);
($st, $j) = $d->api(POST => '/api/v1/searches', $d->es_search(
    name => 'new year', schedule => { cron => '0 0 1 jan *',
    tz => 'Europe/Berlin' }, range => '1h', delay => '0s',
    enabled => JSON::PP::true));
is($st, 201, 'a yearly Berlin cron search: 201') or diag explain $j;
$id = $j->{id};
$s = $d->wait_for(sub {
	my ($st2, $g) = $d->api(GET => "/api/v1/searches/$id");
	return ($st2 == 200 && defined $g->{status}{checkpoint}) ? $g : undef;
}, 30);
is($s->{status}{checkpoint}, sprintf('%d-12-31T23:00:00Z', $y - 1),
    'first window: the last new year, Berlin time');
is($s->{status}{next_run}, sprintf('%d-12-31T23:00:00Z', $y),
    'next run: the coming new year, Berlin time');

$d->stop;
done_testing();
