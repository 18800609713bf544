#!/usr/bin/perl
# 0420-alert-search.t -- "alert" searches (A8): a search over 411's own
# alerts by state, priority, search and age; its own alerts never match.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis);
$d->start;

# Alerts to look at, made through two push searches.
my @ids;
for my $p (qw(high low)) {
	my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => "push $p",
	    type => 'push', priority => $p });
	push @ids, $s->{id};
	$d->api(POST => "/api/v1/push/$s->{id}",
	    [ map { { content => { n => $_ } } } 1 .. ($p eq 'high' ? 3 : 2) ]);
}

sub mk {
	my (%o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'meta ' . ++$::metas,
	    type => 'alert', enabled => JSON::PP::false, %o });
	is($st, 201, 'alert search created') or diag explain $s;
	return $s->{id};
}
sub run {
	my ($id, $dry) = @_;
	my ($st, $r) = $d->api(POST => "/api/v1/searches/$id/run",
	    $dry ? { dry_run => JSON::PP::true } : {});
	is($st, 200, 'run answered');
	return $r;
}

my $all = mk(alerts => { state => 'new' });
my $r = run($all, 1);
is($r->{hits}, 5, 'all 5 new alerts match');
my $hi = mk(alerts => { state => 'new', priority => ['high', 'critical'] });
$r = run($hi, 1);
is($r->{hits}, 3, 'priority high or critical: 3');
is($r->{results}[0]{content}{priority}, 'high', 'records carry the priority');
ok(defined $r->{results}[0]{content}{alert_id}, '... and the alert id');
is(ref $r->{results}[0]{content}{content}, 'HASH', '... and its content');
my $bysearch = mk(alerts => { search => [$ids[1]] });
is(run($bysearch, 1)->{hits}, 2, 'by search: 2');
my $old = mk(alerts => { older_than => '1h' });
is(run($old, 1)->{hits}, 0, 'none older than an hour');

# count with a threshold: "more than 2 high alerts left new"
my $cnt = mk(alerts => { state => 'new', priority => 'high' },
    result => 'count', threshold => [3, undef], priority => 'critical');
$r = run($cnt, 0);
is($r->{alerts}, 1, 'count 3 >= 3: one alert');
(undef, my $l) = $d->api(GET => "/api/v1/alerts?search=$cnt");
is($l->{items}[0]{content}{count}, 3, '... carrying the count');
# its own (critical, new) alert is not counted the next time
$r = run($cnt, 1);
is($r->{hits}, 3, 'the alert search does not see its own alert');

# refusals
my ($st, $e) = $d->api(POST => '/api/v1/searches', { name => 'x',
    type => 'alert', alerts => { state => 'sleeping' } });
is($st, 422, 'a bad state: 422');
is($e->{error}{field}, 'alerts.state', '... naming alerts.state');
($st, $e) = $d->api(POST => '/api/v1/searches', { name => 'x',
    type => 'alert', alerts => { colour => 'red' } });
is($e->{error}{field}, 'alerts.colour', 'an unknown key named');
($st, $e) = $d->api(POST => '/api/v1/searches', { name => 'x',
    type => 'alert', query => 'x' });
is($e->{error}{field}, 'query', 'keys of other types refused');

is($d->stop, 0, 'clean stop');
done_testing;
