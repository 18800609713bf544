#!/usr/bin/perl
# 0710-audit-history.t -- D4: the change history of a search (a full
# snapshot at every version, who, when, change_note; paged newest first),
# optimistic concurrency (a stale version: 409, nothing changes), and the
# audit log: every change made through the API (searches, keys, alert
# actions), none for refused requests or reads, with its filters and paging.
use strict;
use warnings;
use Test::More;
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $redis = TestRedis->new;
my $d = Test411->new(redis => $redis);
$d->start;

# history
my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'h1',
    type => 'push', priority => 'low', change_note => 'first cut' });
is($st, 201, 'search created with a change_note') or diag explain $s;
my $id = $s->{id};
ok(!exists $s->{change_note}, 'the change_note is not part of the search');
($st, $s) = $d->api(PUT => "/api/v1/searches/$id", { name => 'h1',
    type => 'push', priority => 'high', version => 1,
    change_note => 'louder' }, key => 'editor');
is($st, 200, 'PUT at version 1');
is($s->{version}, 2, '... gives version 2');
($st, my $j) = $d->api(PUT => "/api/v1/searches/$id", { name => 'h1',
    type => 'push', priority => 'low', version => 1 });
is($st, 409, 'PUT with a stale version: 409');
is($j->{error}{code}, 'conflict', '... code conflict');
is($j->{error}{field}, 'version', '... naming version');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id", { priority => 'low',
    version => 1 });
is($st, 409, 'PATCH with a stale version: 409');
($st, $j) = $d->api(GET => "/api/v1/searches/$id");
is($j->{priority}, 'high', '... nothing changed');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id", { priority => 'medium',
    version => 2, change_note => 'middle' });
is($st, 200, 'PATCH at the current version');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id", { change_note => 5 });
is($st, 422, 'a change_note that is no string: 422');
is($j->{error}{field}, 'change_note', '... naming it');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$id",
    { change_note => 'x' x 1001 });
is($st, 422, 'a change_note over 1000 bytes: 422');

($st, $j) = $d->api(GET => "/api/v1/searches/$id/history", undef,
    key => 'viewer');
is($st, 200, 'history (viewer)');
my @h = @{$j->{items}};
is_deeply([map { $_->{version} } @h], [3, 2, 1], 'newest first, one per version');
is_deeply([map { $_->{change_note} } @h], ['middle', 'louder', 'first cut'],
    'the change notes');
is_deeply([map { $_->{actor} } @h], ['admin-key', 'editor-key', 'admin-key'],
    'who changed it');
is_deeply([map { $_->{action} } @h], ['update', 'update', 'create'], 'the actions');
is($h[1]{search}{priority}, 'high', 'a full snapshot at version 2');
is($h[2]{search}{priority}, 'low', '... and at version 1');
is($h[0]{search}{version}, 3, '... with its version');
is($h[0]{search}{name}, 'h1', '... and everything else');
like($h[0]{time}, qr/^\d{4}-\d\d-\d\dT/, 'a time');
($st, $j) = $d->api(GET => "/api/v1/searches/$id/history?limit=2");
is(scalar @{$j->{items}}, 2, 'paged by 2');
($st, $j) = $d->api(GET => "/api/v1/searches/$id/history?limit=2&cursor=$j->{next}");
is_deeply([map { $_->{version} } @{$j->{items}}], [1], '... then the rest');
ok(!defined $j->{next}, '... and no next');
($st, $j) = $d->api(DELETE => "/api/v1/searches/$id", { change_note => 'gone' });
is($st, 200, 'deleted with a change_note');
($st, $j) = $d->api(GET => "/api/v1/searches/$id/history");
is($st, 200, 'the history outlives the search');
is($j->{items}[0]{action}, 'delete', '... ending with the delete');
is($j->{items}[0]{version}, 4, '... at the next version');
is($j->{items}[0]{change_note}, 'gone', '... and its note');
($st, $j) = $d->api(GET => '/api/v1/searches/999999/history');
is($st, 404, 'no search, no history: 404');
($st, $j) = $d->api(POST => "/api/v1/searches/$id/history");
is($st, 405, 'POST on history: 405');
($st, $j) = $d->api(GET => "/api/v1/searches/$id/history?x=1");
is($st, 400, 'an unknown parameter: 400');

# alert actions are audited too
($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'pushed',
    type => 'push' });
my $pid = $s->{id};
($st, my $r) = $d->api(POST => "/api/v1/push/$pid",
    [ { content => { host => 'a' } }, { content => { host => 'b' } } ]);
is($st, 200, 'alerts pushed') or diag explain $r;
($st, my $l) = $d->api(GET => "/api/v1/alerts?search=$pid");
my @aids = sort { $a <=> $b } map { $_->{id} } @{$l->{items}};
is(scalar @aids, 2, 'two alerts');
($st, $r) = $d->api(POST => '/api/v1/alerts/actions', { ids => \@aids,
    action => 'acknowledge' }, key => 'editor');
ok($st >= 200 && $st < 300, 'alerts acknowledged') or diag explain $r;
($st, $r) = $d->api(POST => '/api/v1/alerts/actions', { ids => [999999],
    action => 'acknowledge' }, key => 'editor');
ok($st >= 400, 'a refused action') or diag explain $r;
($st) = $d->api(POST => '/api/v1/keys', { name => 'robot', role => 'viewer' });
is($st, 201, 'a key made');
($st) = $d->api(DELETE => '/api/v1/keys/robot');
is($st, 200, 'and revoked');

# the audit log
my $want = 8;	# create, PUT, PATCH, delete, create, actions, key, revoke
my $all;
$d->wait_for(sub {
	($st, $all) = $d->api(GET => '/api/v1/audit?limit=1000');
	return @{$all->{items}} >= $want;
});
is($st, 200, 'the audit log (admin)');
my @a = reverse @{$all->{items}};
is(scalar @a, $want, 'one entry per change, none for refusals and reads')
    or diag explain \@a;
my @ids = map { $_->{id} } @{$all->{items}};
is_deeply(\@ids, [sort { $b <=> $a } @ids], 'newest first');
is_deeply([map { "$_->{method} $_->{object}" } @a], [
	"POST search:$id", "PUT search:$id", "PATCH search:$id",
	"DELETE search:$id", "POST search:$pid",
	'POST alert:' . join(',', @aids), 'POST key:robot',
	'DELETE key:robot' ], 'methods and objects') or diag explain \@a;
is($a[0]{summary}, 'create: first cut', 'a create and its note');
is($a[1]{summary}, 'update: louder', 'an update and its note');
is($a[1]{actor}, 'editor-key', 'the actor');
is($a[3]{summary}, 'delete: gone', 'a delete');
is($a[5]{summary}, 'acknowledge', 'the action of an alert action');
is($a[5]{path}, '/api/v1/alerts/actions', 'its path');
is($a[6]{summary}, 'create', 'a key made');
is($a[7]{summary}, 'revoke', 'a key revoked');
is($a[0]{status}, 201, 'the status of a create');
is($a[1]{status}, 200, 'the status of an update');
like($a[0]{time}, qr/^\d{4}-/, 'a time');

($st, $j) = $d->api(GET => '/api/v1/audit?actor=editor-key');
is_deeply([map { $_->{object} } @{$j->{items}}],
    ['alert:' . join(',', @aids), "search:$id"], 'filtered by actor');
($st, $j) = $d->api(GET => '/api/v1/audit?object=key:');
is(scalar @{$j->{items}}, 2, 'filtered by object prefix');
($st, $j) = $d->api(GET => "/api/v1/audit?object=search:$id");
is(scalar @{$j->{items}}, 4, 'by one object');
($st, $j) = $d->api(GET => '/api/v1/audit?from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z');
is(scalar @{$j->{items}}, 0, 'a time range with nothing');
($st, $j) = $d->api(GET => "/api/v1/audit?from=$a[0]{time}");
is(scalar @{$j->{items}}, $want, 'a time range with everything');
($st, $j) = $d->api(GET => '/api/v1/audit?from=1&to=' . (time() + 3600));
is(scalar @{$j->{items}}, $want, 'epoch seconds too');
($st, $j) = $d->api(GET => '/api/v1/audit?from=yesterday');
is($st, 400, 'a bad time: 400');
is($j->{error}{field}, 'from', '... naming it');
my @paged;
my $cur = '';
for (1 .. 10) {
	($st, $j) = $d->api(GET => "/api/v1/audit?limit=3$cur");
	push @paged, map { $_->{id} } @{$j->{items}};
	last unless defined $j->{next};
	$cur = "&cursor=$j->{next}";
}
is_deeply(\@paged, \@ids, 'paged by 3: every entry once');
for my $role (qw(viewer editor)) {
	($st, $j) = $d->api(GET => '/api/v1/audit', undef, key => $role);
	is($st, 403, "the audit log is refused to a $role");
}
($st) = $d->api(POST => '/api/v1/audit', {});
is($st, 405, 'POST on the audit log: 405');
($st) = $d->api(GET => '/api/v1/audit?bogus=1');
is($st, 400, 'an unknown parameter: 400');
($st) = $d->api(GET => '/api/v1/audit/5');
is($st, 404, 'no audit entry route: 404');

# the log is kept
$d->stop;
$d->start;
($st, $j) = $d->api(GET => '/api/v1/audit?limit=1000');
is(scalar @{$j->{items}}, $want, 'the audit log survives a restart');

is($d->stop, 0, 'clean stop');
done_testing();
