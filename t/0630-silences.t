#!/usr/bin/perl
# 0630-silences.t -- the silences API: create (201), refused definitions
# (422 naming the field, 400 for bad JSON), list by state with paging, one
# silence, expire (DELETE), roles, and silences kept across a restart.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX qw(strftime);
use JSON::PP;
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;

my $d = Test411->new;
$d->start;

sub iso { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0])) }
my $now = time;
my $def = {
	matchers => {
		search => [1, 2],
		priority => ['high'],
		tags => ['db'],
		content => { host => 'web01', user => { regex => '^ro+t$' } },
	},
	ends => iso($now + 3600),
	comment => 'database maintenance',
};

# roles
my ($st, $j) = $d->api(POST => '/api/v1/silences', $def, key => 'viewer');
is($st, 403, 'a viewer cannot create a silence');
($st, $j) = $d->api(POST => '/api/v1/silences', $def, key => undef);
is($st, 401, 'no key: 401');
($st, $j) = $d->api(GET => '/api/v1/silences', undef, key => 'viewer');
is($st, 200, 'a viewer can list silences');
is_deeply($j, { items => [], next => undef }, '... none yet');

# create
($st, $j) = $d->api(POST => '/api/v1/silences', $def, key => 'editor');
is($st, 201, 'an editor creates a silence: 201') or diag explain $j;
my $id = $j->{id};
ok($id && $id > 0, "... with an id ($id)");
is_deeply($j->{matchers}, $def->{matchers}, '... the matchers as given');
is($j->{creator}, 'editor-key', '... the creator is the key');
is($j->{comment}, 'database maintenance', '... the comment');
is($j->{state}, 'active', '... active (starts defaults to now)');
is($j->{ends}, iso($now + 3600), '... ends as given');
ok(!$j->{expired}, '... not expired');
like($j->{starts}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '... starts is a time');
like($j->{created}, qr/^\d{4}-\d\d-\d\dT/, '... created is a time');

# a pending one, with epoch seconds
($st, $j) = $d->api(POST => '/api/v1/silences', { matchers => { search => [7] },
    starts => int($now) + 7200, ends => int($now) + 9000, comment => 'later' });
is($st, 201, 'a pending silence: 201');
my $pid = $j->{id};
is($j->{state}, 'pending', '... pending');

# refused
my $e = iso($now + 3600);
my @bad = (
	[{ ends => $e, comment => 'c' }, 'matchers', 'no matchers'],
	[{ matchers => {}, ends => $e, comment => 'c' }, 'matchers', 'empty matchers'],
	[{ matchers => { host => ['a'] }, ends => $e, comment => 'c' }, 'matchers', 'an unknown matcher'],
	[{ matchers => { search => ['x'] }, ends => $e, comment => 'c' }, 'matchers.search', 'a bad search id'],
	[{ matchers => { priority => ['urgent'] }, ends => $e, comment => 'c' }, 'matchers.priority', 'a bad priority'],
	[{ matchers => { tags => [''] }, ends => $e, comment => 'c' }, 'matchers.tags', 'an empty tag'],
	[{ matchers => { content => { host => { regex => '(' } } }, ends => $e, comment => 'c' },
	    'matchers.content.host.regex', 'a regex that does not compile'],
	[{ matchers => { content => { host => [1] } }, ends => $e, comment => 'c' },
	    'matchers.content.host', 'a content value that is an array'],
	[{ matchers => { search => [1] }, comment => 'c' }, 'ends', 'no ends'],
	[{ matchers => { search => [1] }, ends => 'soon', comment => 'c' }, 'ends', 'ends not a time'],
	[{ matchers => { search => [1] }, ends => iso($now - 60), comment => 'c' }, 'ends', 'ends in the past'],
	[{ matchers => { search => [1] }, starts => iso($now + 7200), ends => $e, comment => 'c' },
	    'ends', 'ends before starts'],
	[{ matchers => { search => [1] }, ends => iso($now + 400 * 86400), comment => 'c' },
	    'ends', 'longer than the limit'],
	[{ matchers => { search => [1] }, ends => $e }, 'comment', 'no comment'],
	[{ matchers => { search => [1] }, ends => $e, comment => '' }, 'comment', 'an empty comment'],
	[{ matchers => { search => [1] }, ends => $e, comment => 'c', id => 5 }, 'id', 'an id'],
);
for my $b (@bad) {
	($st, $j) = $d->api(POST => '/api/v1/silences', $b->[0]);
	is($st, 422, "$b->[2]: 422");
	is($j->{error}{field}, $b->[1], "... naming $b->[1]") or diag explain $j;
	is($j->{error}{code}, 'invalid', '... code invalid');
}
($st, $j) = $d->api(POST => '/api/v1/silences', '{"matchers": ');
is($st, 400, 'malformed JSON: 400');
like($j->{error}{message}, qr/\S/, '... with a message');

# list
($st, $j) = $d->api(GET => '/api/v1/silences');
is($st, 200, 'list: 200');
is_deeply([map { $_->{id} } @{$j->{items}}], [$pid, $id],
    '... active and pending by default, newest first');
($st, $j) = $d->api(GET => '/api/v1/silences?state=active');
is_deeply([map { $_->{id} } @{$j->{items}}], [$id], 'state=active');
($st, $j) = $d->api(GET => '/api/v1/silences?state=pending');
is_deeply([map { $_->{id} } @{$j->{items}}], [$pid], 'state=pending');
($st, $j) = $d->api(GET => '/api/v1/silences?state=expired');
is_deeply($j->{items}, [], 'state=expired: none yet');
($st, $j) = $d->api(GET => '/api/v1/silences?state=asleep');
is($st, 400, 'an unknown state: 400');
is($j->{error}{field}, 'state', '... naming state');
($st, $j) = $d->api(GET => '/api/v1/silences?colour=red');
is($st, 400, 'an unknown parameter: 400');
($st, $j) = $d->api(GET => '/api/v1/silences?limit=1');
is(scalar @{$j->{items}}, 1, 'limit=1: one item');
ok(defined $j->{next}, '... and a next cursor');
my $first = $j->{items}[0]{id};
($st, $j) = $d->api(GET => "/api/v1/silences?limit=1&cursor=$j->{next}");
is($st, 200, 'the next page: 200');
is(scalar @{$j->{items}}, 1, '... one item');
isnt($j->{items}[0]{id}, $first, '... another silence');

# one
($st, $j) = $d->api(GET => "/api/v1/silences/$id", undef, key => 'viewer');
is($st, 200, 'GET one: 200');
is($j->{id}, $id, '... that one');
($st, $j) = $d->api(GET => '/api/v1/silences/99999');
is($st, 404, 'an unknown id: 404');
is($j->{error}{code}, 'not_found', '... code not_found');
($st, $j) = $d->api(GET => '/api/v1/silences/abc');
is($st, 404, 'a bad id: 404');
($st, $j) = $d->api(PUT => "/api/v1/silences/$id", $def);
is($st, 405, 'PUT: 405');

# expire
($st, $j) = $d->api(DELETE => "/api/v1/silences/$pid", undef, key => 'viewer');
is($st, 403, 'a viewer cannot expire a silence');
($st, $j) = $d->api(DELETE => "/api/v1/silences/$pid", undef, key => 'editor');
is($st, 200, 'an editor expires the pending silence: 200') or diag explain $j;
ok($j->{expired}, '... expired true');
is($j->{state}, 'expired', '... state expired');
is($j->{starts}, $j->{ends}, '... starts and ends now');
($st, $j) = $d->api(GET => '/api/v1/audit');
my ($ae) = grep { ($_->{object} // '') eq "silence:$pid" } @{$j->{items} // []};
ok($ae, "the expiry is in the audit log (silence:$pid)") or diag explain $j;
like(($ae // {})->{summary} // '', qr/expire/, '... as an expiry')
    or diag explain $ae;
($st, $j) = $d->api(DELETE => '/api/v1/silences/99999');
is($st, 404, 'expire an unknown id: 404');
($st, $j) = $d->api(GET => '/api/v1/silences?state=expired');
is_deeply([map { $_->{id} } @{$j->{items}}], [$pid], 'it is listed as expired');
($st, $j) = $d->api(GET => '/api/v1/silences');
is_deeply([map { $_->{id} } @{$j->{items}}], [$id], '... and no more by default');

# restart
is($d->stop, 0, '411d stops cleanly');
$d->start;
($st, $j) = $d->api(GET => '/api/v1/silences?state=all');
is($st, 200, 'after a restart: 200');
is_deeply([map { $_->{id} } @{$j->{items}}], [$pid, $id], '... both silences kept');
is($j->{items}[1]{state}, 'active', '... the active one is still active');
is($j->{items}[0]{state}, 'expired', '... the expired one still expired');
is_deeply($j->{items}[1]{matchers}, $def->{matchers}, '... with its matchers');
($st, $j) = $d->api(POST => '/api/v1/silences', { matchers => { search => [3] },
    ends => iso(time + 60), comment => 'after restart' });
ok($st == 201 && $j->{id} > $pid, "new ids go on after a restart ($j->{id})");
like($d->log, qr/silence \d+ created by editor-key/, 'creation is logged');

is($d->stop, 0, '411d stops cleanly again');

# End to end: a run while a silence matches stores the alerts, marks them
# with the silence, and neither announces nor sends them.
SKIP: {
	require TestRedis;
	require FakeES;
	skip 'no redis-server', 16 unless TestRedis->available;
	skip 'no python3', 16 unless FakeES->available;
	my $J = JSON::PP->new->canonical;
	my $redis = TestRedis->new;
	my $es = FakeES->new(flavour => 'es7');
	my $e2e = Test411->new(redis => $redis, es => $es);
	$e2e->start;
	my $ms = int(time * 1000);
	my @docs = map { {
		'@timestamp' => $ms - 600_000 + $_ * 1000,
		program => 'sshd',
		host => "web0$_",
		user => ($_ % 2 ? 'root' : 'alice'),
	} } 0 .. 3;
	$es->docs('logs-2026.11.25', \@docs);
	my ($sst, $s) = $e2e->api(POST => '/api/v1/searches', $e2e->es_search(
		name => 'SSH', fields => ['host', 'user'], range => '1h',
		priority => 'high', tags => ['ssh'],
		filters => [{ type => 'dedupe', key => ['host'], within => '1d' }],
		targets => [{ target => 'soc-webhook' }]));
	is($sst, 201, 'e2e: a search') or diag explain $s;
	my $sid = $s->{id};
	my ($cst, $si) = $e2e->api(POST => '/api/v1/silences', {
	    matchers => { search => [$sid], tags => ['ssh'],
		content => { user => { regex => '^ro+t$' } } },
	    ends => iso(time + 3600), comment => 'root logins are expected' });
	is($cst, 201, 'e2e: a silence on root logins') or diag explain $si;
	my ($rst, $run) = $e2e->api(POST => "/api/v1/searches/$sid/run", {});
	is($run->{state}, 'success', 'e2e: the run succeeded')
	    or diag explain $run;
	is($run->{alerts}, 4, 'e2e: 4 alerts made');
	my ($ast, $al) = $e2e->api(GET => "/api/v1/alerts?search=$sid");
	my %by = map { $_->{content}{host} => $_ } @{$al->{items}};
	is(scalar keys %by, 4, 'e2e: all 4 stored, silenced or not');
	is($by{web01}{silenced}, $si->{id}, 'e2e: a root alert is marked '
	    . 'with the silence');
	is($by{web03}{silenced}, $si->{id}, 'e2e: so is the other');
	ok(!defined $by{web00}{silenced}, 'e2e: alice\'s alert is not silenced');
	ok(!defined $by{web02}{silenced}, 'e2e: nor the other');

	# expire, then a new root alert: announced.  Events leave the outbox
	# in order, so once this one is in the stream every earlier one is.
	my ($xst) = $e2e->api(DELETE => "/api/v1/silences/$si->{id}");
	is($xst, 200, 'e2e: the silence expired');
	$es->docs('logs-2026.11.25', [{ '@timestamp' => $ms - 300_000,
	    program => 'sshd', host => 'web09', user => 'root' }]);
	($rst, $run) = $e2e->api(POST => "/api/v1/searches/$sid/run", {});
	is($run->{alerts}, 1, 'e2e: the next run makes the web09 alert');
	($ast, $al) = $e2e->api(GET => "/api/v1/alerts?search=$sid");
	my ($web09) = grep { $_->{content}{host} eq 'web09' } @{$al->{items}};
	ok($web09 && !defined $web09->{silenced}, 'e2e: not silenced any more');
	my $stream = sub {
		my ($key) = @_;
		my $r = $redis->cmd('XRANGE', $key, '-', '+');
		return [map { my %f = @{$_->[1]};
		    $f{_payload} = $J->decode($f{payload})
			if defined $f{payload}; \%f } @$r];
	};
	my $seen = sub {
		grep { $_->{type} eq 'alert.created' &&
		    $_->{_payload}{alert}{id} == $web09->{id} }
		    @{$stream->('411:events')};
	};
	ok($e2e->wait_for(sub { $seen->() }, 30),
	    'e2e: the web09 alert is announced');
	my @created = grep { $_->{type} eq 'alert.created' }
	    @{$stream->('411:events')};
	is_deeply([sort map { $_->{_payload}{alert}{content}{host} } @created],
	    ['web00', 'web02', 'web09'],
	    'e2e: alert.created only for the alerts not silenced');
	my $jobs = $stream->('411:notify:webhook');
	is_deeply([sort map { $_->{_payload}{alert}{content}{host} } @$jobs],
	    ['web00', 'web02', 'web09'],
	    'e2e: and only those are sent to the target');
	is($e2e->stop, 0, 'e2e: 411d stops cleanly');
}
done_testing();
