#!/usr/bin/perl
# 0610-alert-queries.t -- GET /api/v1/alerts with each filter and with
# several, cursor paging that neither skips nor repeats while alerts are
# added between pages, the counts by state and priority, bad parameters.
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

my ($st, $web) = $d->api(POST => '/api/v1/searches', { name => 'web',
    type => 'push', priority => 'high', tags => ['web', 'prod'] });
is($st, 201, 'search web');
my $sa = $web->{id};
($st, my $db) = $d->api(POST => '/api/v1/searches', { name => 'db',
    type => 'push', priority => 'low', tags => ['db'] });
my $sb = $db->{id};
my $T0 = 1795600000;
# 30 alerts of web (every third with "Needle" in it), 20 of db.
my @wa = map { { time => $T0 + $_ * 60, content => { host => "web$_",
    msg => $_ % 3 == 0 ? "a NeedLe here $_" : "plain $_" } } } 0 .. 29;
my @wb = map { { time => $T0 + $_ * 60 + 30, content => { host => "db$_" } } }
    0 .. 19;
($st, my $r) = $d->api(POST => "/api/v1/push/$sa", \@wa);
is($r->{alerts}, 30, '30 web alerts');
($st, $r) = $d->api(POST => "/api/v1/push/$sb", \@wb);
is($r->{alerts}, 20, '20 db alerts');

# Every page of a query, joined.
sub all_pages {
	my ($q, $limit) = @_;
	my (@items, $cursor, $pages);
	while (1) {
		my $u = "/api/v1/alerts?limit=$limit" . ($q ? "&$q" : '') .
		    (defined $cursor ? "&cursor=$cursor" : '');
		my ($st, $r) = $d->api(GET => $u);
		die "GET $u: $st" unless $st == 200;
		push @items, @{$r->{items}};
		$pages++;
		last unless defined $r->{next};
		$cursor = $r->{next};
		die "too many pages" if $pages > 200;
	}
	return @items;
}
sub ids { [map { $_->{id} } @_] }
sub desc { my @i = @{ids(@_)}; for (1 .. $#i) { return 0 if $i[$_] >= $i[$_ - 1] } 1 }

my @all = all_pages('', 7);
is(scalar @all, 50, 'all 50, in pages of 7');
ok(desc(@all), 'newest first, no repeats');
my %byid = map { $_->{id} => $_ } @all;
my @webids = sort { $a <=> $b } map { $_->{id} } grep { $_->{search_id} == $sa } @all;

# Some state to filter on.
$d->api(POST => '/api/v1/alerts/actions', { ids => [@webids[0 .. 4]],
    action => 'acknowledge' });
$d->api(POST => '/api/v1/alerts/actions', { ids => [@webids[5 .. 7]],
    action => 'resolve', resolution => 'not_an_issue' });
$d->api(POST => '/api/v1/alerts/actions', { ids => [@webids[0, 2, 8]],
    action => 'assign', assignee => 'alice' });
$d->api(POST => '/api/v1/alerts/actions', { ids => [@webids[2, 3]],
    action => 'escalate' });

my @x = all_pages('state=in_progress', 2);
is_deeply([sort { $a <=> $b } @{ids(@x)}], [@webids[0 .. 4]], 'state=in_progress');
@x = all_pages('state=resolved', 2);
is_deeply([sort { $a <=> $b } @{ids(@x)}], [@webids[5 .. 7]], 'state=resolved');
@x = all_pages('state=new', 10);
is(scalar @x, 42, 'state=new: the other 42');
@x = all_pages("search=$sb", 3);
is(scalar @x, 20, 'search=db: 20');
ok(!grep({ $_->{search_id} != $sb } @x), '... all of db');
ok(desc(@x), '... newest first');
@x = all_pages('assignee=alice', 2);
is_deeply([sort { $a <=> $b } @{ids(@x)}], [@webids[0, 2, 8]], 'assignee=alice');
@x = all_pages('assignee=', 50);
is(scalar @x, 47, 'assignee= (empty): the unassigned');
@x = all_pages('escalated=true', 5);
is_deeply([sort { $a <=> $b } @{ids(@x)}], [@webids[2, 3]], 'escalated=true');
@x = all_pages('escalated=false', 50);
is(scalar @x, 48, 'escalated=false');
@x = all_pages('priority=low', 50);
is(scalar @x, 20, 'priority=low: the db alerts');
@x = all_pages('priority=critical', 50);
is(scalar @x, 0, 'priority=critical: none');
@x = all_pages('tag=web', 8);
is(scalar @x, 30, 'tag=web: the web alerts');
@x = all_pages('tag=db', 8);
is(scalar @x, 20, 'tag=db');
@x = all_pages('tag=none', 8);
is(scalar @x, 0, 'an unknown tag: none');
@x = all_pages('q=needle', 4);
is(scalar @x, 10, 'q=needle: case-insensitive, 10');
ok(!grep({ $_->{content}{msg} !~ /needle/i } @x), '... each has it');
@x = all_pages('q=NEEDLE%2010', 4);
is(scalar @x, 0, 'q with a space and no match');
@x = all_pages('q=here%2012', 4);
is(scalar @x, 1, 'q with a space');
my $from = $T0 + 10 * 60;
my $to = $T0 + 20 * 60;
@x = all_pages("from=$from&to=$to", 4);
is(scalar @x, 20, 'from/to in epoch seconds: [from, to)');
@x = all_pages('from=2026-11-25T09:56:40Z&to=2026-11-25T10:06:40Z', 4);
is(scalar @x, 20, 'from/to in RFC 3339') or diag scalar @x;
@x = all_pages("state=new&search=$sa&assignee=alice&priority=high&tag=prod", 2);
is_deeply(ids(@x), [$webids[8]], 'five filters at once');

# state, search and priority given more than once: any of the values
# (issue 11, item 10: they were the first value, silently).
@x = all_pages('state=in_progress&state=resolved', 3);
is_deeply([sort { $a <=> $b } @{ids(@x)}], [@webids[0 .. 7]],
    'state=in_progress&state=resolved: either');
ok(desc(@x), '... newest first, paged');
@x = all_pages('state=resolved&state=new&state=in_progress', 50);
is(scalar @x, 50, 'all three states: all 50');
@x = all_pages("search=$sa&search=$sb", 7);
is(scalar @x, 50, 'search twice: both searches');
@x = all_pages("search=$sb&search=99999", 7);
is(scalar @x, 20, 'search twice, one unknown: the known one');
@x = all_pages('priority=low&priority=critical', 50);
is(scalar @x, 20, 'priority=low&priority=critical: the db alerts');
@x = all_pages("state=resolved&state=in_progress&search=$sa&search=$sb&tag=prod", 50);
is(scalar @x, 8, 'repeated filters with a tag');
($st) = $d->api(GET => '/api/v1/alerts?state=new&state=open');
is($st, 400, 'a bad value among repeated states: 400');
($st, $r) = $d->api(GET => '/api/v1/alerts?assignee=a&assignee=b');
is($st, 400, 'assignee twice: 400');
is($r->{error}{field}, 'assignee', '... naming it');
@x = all_pages("state=in_progress&escalated=true&q=needle", 2);
is_deeply(ids(@x), [grep { $byid{$_}{content}{msg} =~ /needle/i }
    reverse @webids[2, 3]], 'state, escalated and q');

# Paging while alerts are added: nothing skipped, nothing repeated.
my (@seen, $cursor);
my $before = { map { $_->{id} => 1 } all_pages('', 100) };
my $added = 0;
for my $page (1 .. 100) {
	my ($st, $r) = $d->api(GET => "/api/v1/alerts?limit=6" .
	    (defined $cursor ? "&cursor=$cursor" : ''));
	push @seen, @{$r->{items}};
	last unless defined $r->{next};
	$cursor = $r->{next};
	# new alerts arrive between pages
	$d->api(POST => "/api/v1/push/$sb", [ { content => { host => "new$page" } } ]);
	$added++;
}
ok($added >= 5, "$added alerts added while paging");
my %cnt;
$cnt{$_->{id}}++ for @seen;
ok(!grep({ $_ > 1 } values %cnt), 'no alert repeated');
is_deeply([sort { $a <=> $b } grep { $before->{$_} } keys %cnt],
    [sort { $a <=> $b } keys %$before], 'every alert there at the start seen');
ok(desc(@seen), 'the pages are in order');

# counts
($st, my $c) = $d->api(GET => '/api/v1/alerts/counts');
is($st, 200, 'counts');
my $total = 50 + $added;
is($c->{total}, $total, "total $total");
is_deeply($c->{state}, { new => $total - 8, in_progress => 5, resolved => 3 },
    'by state');
is_deeply($c->{priority}, { low => 20 + $added, medium => 0, high => 30,
    critical => 0 }, 'by priority');
$d->api(POST => '/api/v1/alerts/actions', { ids => [@webids[0 .. 1]],
    action => 'resolve', resolution => 'action_taken' });
(undef, $c) = $d->api(GET => '/api/v1/alerts/counts');
is_deeply($c->{state}, { new => $total - 8, in_progress => 3, resolved => 5 },
    'the counts follow an action');
($st) = $d->api(GET => '/api/v1/alerts/counts', undef, key => 'viewer');
is($st, 200, 'a viewer reads the counts');
($st) = $d->api(GET => '/api/v1/alerts/counts?state=new');
is($st, 400, 'counts take no parameters');
($st) = $d->api(GET => '/api/v1/alerts', undef, key => undef);
is($st, 401, 'no key: 401');
($st) = $d->api(GET => '/api/v1/alerts', undef, key => 'viewer');
is($st, 200, 'a viewer lists alerts');
($st) = $d->api(POST => '/api/v1/alerts', {});
is($st, 405, 'POST on the listing: 405');

# bad parameters
for my $c (['state=open', 'state'], ['search=x', 'search'],
    ['escalated=yes', 'escalated'], ['priority=urgent', 'priority'],
    ['from=soon', 'from'], ['to=later', 'to'], ['limit=0', 'limit'],
    ['limit=5000', 'limit'], ['cursor=abc', 'cursor'], ['colour=red', 'colour'],
    ['q=' . ('x' x 300), 'q'], ['tag=', 'tag']) {
	my ($st, $r) = $d->api(GET => "/api/v1/alerts?$c->[0]");
	is($st, 400, "$c->[1]: 400");
	is($r->{error}{field}, $c->[1], "... field $c->[1]");
}

# restart: the indexes and counters persist
$d->stop;
$d->start;
(undef, $c) = $d->api(GET => '/api/v1/alerts/counts');
is($c->{state}{resolved}, 5, 'counts after a restart');
@x = all_pages('assignee=alice', 2);
is(scalar @x, 3, 'assignee index after a restart');

is($d->stop, 0, 'clean stop');
done_testing;
