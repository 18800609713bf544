#!/usr/bin/perl
# 0600-alert-actions.t -- D2 actions through POST /api/v1/alerts/actions,
# single and bulk: each action's effect, its log entry (D3) and its event
# in Redis; bulk atomicity; roles; whitelist (the search's hash filter,
# refused for a file search); send (one delivery job); bad bodies; and
# silenced alerts (D6 in runs): stored, marked, not announced.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $sdir = tempdir('411-sd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open(my $fh, '>', "$sdir/fromfile.json") or die;
print $fh $J->encode({ name => 'from a file', type => 'push',
    priority => 'low' });
close($fh);
my $d = Test411->new(redis => $redis, searches_dir => $sdir);
$d->start;

# The events in 411:events after the first $skip, decoded.
sub events {
	my ($stream, $skip) = @_;
	my $r = $redis->cmd('XRANGE', $stream // '411:events', '-', '+');
	my @e;
	for my $x (@$r[($skip // 0) .. $#$r]) {
		my %f = @{$x->[1]};
		push @e, { %f, p => $J->decode($f{payload}) };
	}
	return @e;
}
sub nevents { scalar @{$redis->cmd('XRANGE', $_[0] // '411:events', '-', '+')} }
# Wait for the events stream to hold $n entries.
sub wait_events {
	my ($n, $stream) = @_;
	return $d->wait_for(sub { nevents($stream) >= $n }, 20);
}
sub act {
	my ($body, %o) = @_;
	return $d->api(POST => '/api/v1/alerts/actions', $body,
	    key => exists $o{key} ? $o{key} : 'editor');
}
sub alert { (my $st, my $a) = $d->api(GET => "/api/v1/alerts/$_[0]"); $a }
sub logof {
	my ($st, $l) = $d->api(GET => "/api/v1/alerts/$_[0]/log?limit=1000");
	return $l->{items};
}

my ($st, $s) = $d->api(POST => '/api/v1/searches', { name => 'ids', type =>
    'push', priority => 'high', tags => ['net'],
    targets => [{ target => 'soc-webhook' }] });
is($st, 201, 'push search created') or diag explain $s;
my $sid = $s->{id};
my @items = map { { time => 1795600000 + $_, content => { host => "h$_",
    n => $_ } } } 1 .. 8;
($st, my $r) = $d->api(POST => "/api/v1/push/$sid", \@items);
is($r->{alerts}, 8, '8 alerts pushed') or diag explain $r;
(undef, my $l) = $d->api(GET => "/api/v1/alerts?search=$sid");
my @ids = sort { $a <=> $b } map { $_->{id} } @{$l->{items}};
is(scalar @ids, 8, '8 alerts listed');
ok(wait_events(8), '8 alert.created events');
my $nev = nevents();

# One action; its effect, its event, its log entry.
sub check_action {
	my ($name, $body, $type, $check) = @_;
	my $before = nevents();
	my ($st, $r) = act($body);
	is($st, 200, "$name: 200") or diag explain $r;
	my $n = scalar @{$body->{ids}};
	is($r->{count}, $n, "$name: $n changed");
	for my $id (@{$body->{ids}}) {
		my $a = alert($id);
		ok($check->($a), "$name: alert $id changed") or diag explain $a;
	}
	ok(wait_events($before + $n), "$name: $n event(s)");
	my @e = events(undef, $before);
	is_deeply([sort map { $_->{type} } @e], [($type) x $n],
	    "$name: $type") or diag explain \@e;
	is_deeply([sort { $a <=> $b } map { $_->{p}{alert}{id} } @e],
	    [sort { $a <=> $b } @{$body->{ids}}], "$name: the alerts' events");
	ok($check->($e[0]{p}{alert}), "$name: the event has the alert after")
	    or diag explain $e[0]{p}{alert};
	is($e[0]{p}{search}{id}, $sid, "$name: and its search");
	my $lg = logof($body->{ids}[0]);
	is($lg->[-1]{action}, $body->{action}, "$name: logged")
	    or diag explain $lg;
	is($lg->[-1]{actor}, 'editor-key', "$name: the actor is the key");
	return $lg->[-1];
}

my $id = $ids[0];
my $e = check_action('acknowledge', { ids => [$id], action => 'acknowledge' },
    'alert.updated', sub { $_[0]{state} eq 'in_progress' });
is_deeply($e->{changes}, { state => { from => 'new', to => 'in_progress' } },
    'the log says what changed');
like($e->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'the log has a time');
$e = check_action('resolve', { ids => [$id], action => 'resolve',
    resolution => 'action_taken', note => 'fixed the host' },
    'alert.resolved', sub { $_[0]{state} eq 'resolved' &&
    ($_[0]{resolution} // '') eq 'action_taken' });
is($e->{note}, 'fixed the host', 'the note is logged');
is_deeply($e->{changes}{resolution}, { from => undef, to => 'action_taken' },
    'the resolution change is logged');
check_action('unresolve', { ids => [$id], action => 'unresolve' },
    'alert.updated', sub { $_[0]{state} eq 'new' &&
    !defined $_[0]{resolution} });
check_action('escalate', { ids => [$id], action => 'escalate' },
    'alert.updated', sub { $_[0]{escalated} });
check_action('deescalate', { ids => [$id], action => 'deescalate' },
    'alert.updated', sub { !$_[0]{escalated} });
check_action('assign', { ids => [$id], action => 'assign',
    assignee => 'alice' }, 'alert.updated',
    sub { ($_[0]{assignee} // '') eq 'alice' });
check_action('assign a group', { ids => [$id], action => 'assign',
    assignee => 'group:secops' }, 'alert.updated',
    sub { ($_[0]{assignee} // '') eq 'group:secops' });
# a rotation group: the member on duty
$d->api(POST => '/api/v1/users', { name => $_, role => 'editor' }) for qw(ann bob);
($st, my $g) = $d->api(POST => '/api/v1/groups', { name => 'oncall',
    rotation => { every => '7d', start => '2020-01-06T00:00:00Z',
    members => ['ann', 'bob'] } }, key => 'admin');
is($st, 201, 'a rotation group') or diag explain $g;
$e = check_action('assign a rotation group', { ids => [$id], action => 'assign',
    assignee => 'group:oncall' }, 'alert.updated',
    sub { ($_[0]{assignee} // '') eq $g->{on_duty} });
is($e->{changes}{assignee}{to}, $g->{on_duty}, '... the member on duty is logged');
check_action('unassign', { ids => [$id], action => 'unassign' },
    'alert.updated', sub { !defined $_[0]{assignee} });
$e = check_action('note', { ids => [$id], action => 'note',
    note => 'looked at it' }, 'alert.updated', sub { $_[0]{state} eq 'new' });
ok(!exists $e->{changes}, 'a note changes no field');

# bulk
check_action('bulk resolve', { ids => [@ids[1, 2, 3]], action => 'resolve',
    resolution => 'not_an_issue' }, 'alert.resolved',
    sub { ($_[0]{resolution} // '') eq 'not_an_issue' });
($st, $r) = act({ ids => [@ids[4, 4]], action => 'escalate' });
is($r->{count}, 1, 'a repeated id counts once');

# all or nothing (counted once the outbox has sent what came before)
ok($d->wait_for(sub { ($d->metric('four11_outbox_depth') // 1) == 0 }, 30),
    'the outbox is drained');
my $before = nevents();
my $a4 = alert($ids[5]);
my $log4 = logof($ids[5]);
($st, $r) = act({ ids => [$ids[5], 999999], action => 'acknowledge' });
is($st, 404, 'one unknown id: 404');
is($r->{error}{field}, 'ids', '... field ids');
like($r->{error}{message}, qr/999999/, '... naming the id');
is_deeply(alert($ids[5]), $a4, '... and the known alert is unchanged');
is(scalar @{logof($ids[5])}, scalar @$log4, '... not logged');
sleep 1;
is(nevents(), $before, '... no event');

# the log, oldest first, paged
my $full = logof($id);
is_deeply([map { $_->{action} } @$full], [qw(acknowledge resolve unresolve
    escalate deescalate assign assign assign unassign note)],
    'the log of alert 1, oldest first');
(undef, my $p1) = $d->api(GET => "/api/v1/alerts/$id/log?limit=4");
is(scalar @{$p1->{items}}, 4, 'a page of 4');
ok(defined $p1->{next}, '... with a next cursor');
(undef, my $p2) = $d->api(GET => "/api/v1/alerts/$id/log?limit=4&cursor=$p1->{next}");
(undef, my $p3) = $d->api(GET => "/api/v1/alerts/$id/log?limit=4&cursor=$p2->{next}");
is_deeply([@{$p1->{items}}, @{$p2->{items}}, @{$p3->{items}}], $full,
    'pages join to the whole log');
ok(!defined $p3->{next}, 'the last page has no next');
($st) = $d->api(GET => '/api/v1/alerts/999999/log');
is($st, 404, 'the log of an unknown alert: 404');
($st) = $d->api(POST => "/api/v1/alerts/$id/log", {});
is($st, 405, 'POST on a log: 405');

# send: one delivery job to the named target, logged
my $nmail = nevents('411:notify:email');
($st, $r) = act({ ids => [@ids[6, 7]], action => 'send', target => 'mail' });
is($st, 200, 'send to mail') or diag explain $r;
ok($d->wait_for(sub { nevents('411:notify:email') == $nmail + 2 }, 20),
    'two delivery jobs on 411:notify:email');
my @jobs = events('411:notify:email', $nmail);
is($jobs[0]{p}{target}{name}, 'mail', 'the job names the target');
is($jobs[0]{p}{target}{type}, 'email', '... and its type');
is_deeply([sort { $a <=> $b } map { $_->{p}{alert}{id} } @jobs],
    [@ids[6, 7]], '... one per alert');
is(logof($ids[6])->[-1]{action}, 'send', 'send is logged');
is(logof($ids[6])->[-1]{target}, 'mail', '... with the target');
($st, $r) = act({ ids => [$ids[6]], action => 'send', target => 'nope' });
is($st, 422, 'send to an unknown target: 422');
is($r->{error}{field}, 'target', '... field target');

# whitelist: the search's hash filter gets the hash, with a lifetime
my $h = alert($ids[7])->{content_hash};
($st, $r) = act({ ids => [$ids[7]], action => 'whitelist', lifetime => '7d',
    note => 'known scanner' });
is($st, 200, 'whitelist') or diag explain $r;
(undef, $s) = $d->api(GET => "/api/v1/searches/$sid");
my ($hf) = grep { $_->{type} eq 'hash' } @{$s->{filters} // []};
ok($hf, 'the search has a hash filter now') or diag explain $s;
is_deeply($hf->{hashes}, [$h], '... with the alert\'s hash');
like($hf->{lifetime} // '', qr/^\d{4}-\d\d-\d\dT/, '... and an end time');
is(logof($ids[7])->[-1]{hash}, $h, 'the whitelist is logged with the hash');
($st, $r) = $d->api(POST => "/api/v1/push/$sid", [ $items[7] ]);
is($r->{alerts}, 0, 'the same content again makes no alert');
($st, $r) = act({ ids => [$ids[6], $ids[7]], action => 'whitelist' });
(undef, $s) = $d->api(GET => "/api/v1/searches/$sid");
my @hf = grep { $_->{type} eq 'hash' } @{$s->{filters}};
is(scalar @hf, 1, 'a second whitelist uses the same filter');
is(scalar @{$hf[0]{hashes}}, 2, '... adding only the new hash');
($st, $r) = act({ ids => [$ids[0]], action => 'whitelist', lifetime => 'soon' });
is($st, 422, 'a bad lifetime: 422');
is($r->{error}{field}, 'lifetime', '... field lifetime');

# whitelist of an alert of a file search: 409
(undef, my $ss) = $d->api(GET => '/api/v1/searches');
my ($fs) = grep { $_->{name} eq 'from a file' } @{$ss->{items}};
ok($fs, 'the file search is there') or diag explain $ss;
($st, $r) = $d->api(POST => "/api/v1/push/$fs->{id}", [ { content =>
    { f => 1 } } ]);
is($r->{alerts}, 1, 'an alert of the file search');
(undef, $l) = $d->api(GET => "/api/v1/alerts?search=$fs->{id}");
my $fid = $l->{items}[0]{id};
($st, $r) = act({ ids => [$ids[0], $fid], action => 'whitelist' });
is($st, 409, 'whitelist of an alert of a file search: 409');
like($r->{error}{message}, qr/file/, '... saying it is a file search');
is(scalar @{logof($ids[0])}, scalar @$full, '... and nothing changed');

# roles
($st) = act({ ids => [$id], action => 'escalate' }, key => 'viewer');
is($st, 403, 'a viewer may not act');
($st) = act({ ids => [$id], action => 'escalate' }, key => undef);
is($st, 401, 'no key: 401');
($st) = act({ ids => [$id], action => 'deescalate' }, key => 'admin');
is($st, 200, 'an admin may act');
($st) = $d->api(GET => "/api/v1/alerts/$id/log", undef, key => 'viewer');
is($st, 200, 'a viewer reads the log');
($st) = $d->api(GET => '/api/v1/alerts/actions');
is($st, 405, 'GET on actions: 405');

# bad bodies
my $before_all = $J->encode([map { alert($_) } @ids]);
for my $c (
    ['not json', '{"ids": [1', 400, undef],
    ['not an object', '[1, 2]', 400, undef],
    ['unknown field', { ids => [$id], action => 'escalate', colour => 1 },
	422, 'colour'],
    ['no ids', { action => 'escalate' }, 422, 'ids'],
    ['ids not an array', { ids => $id, action => 'escalate' }, 422, 'ids'],
    ['ids empty', { ids => [], action => 'escalate' }, 422, 'ids'],
    ['an id not a number', { ids => ['one'], action => 'escalate' }, 422,
	'ids'],
    ['a negative id', { ids => [-3], action => 'escalate' }, 422, 'ids'],
    ['too many ids', { ids => [1 .. 1001], action => 'escalate' }, 422,
	'ids'],
    ['no action', { ids => [$id] }, 422, 'action'],
    ['action not a string', { ids => [$id], action => 3 }, 422, 'action'],
    ['unknown action', { ids => [$id], action => 'explode' }, 422, 'action'],
    ['resolve without resolution', { ids => [$id], action => 'resolve' },
	422, 'resolution'],
    ['a bad resolution', { ids => [$id], action => 'resolve',
	resolution => 'bored' }, 422, 'resolution'],
    ['a field of another action', { ids => [$id], action => 'acknowledge',
	assignee => 'bob' }, 422, 'assignee'],
    ['assign without assignee', { ids => [$id], action => 'assign' }, 422,
	'assignee'],
    ['an assignee not a string', { ids => [$id], action => 'assign',
	assignee => [] }, 422, 'assignee'],
    ['an empty assignee', { ids => [$id], action => 'assign',
	assignee => '' }, 422, 'assignee'],
    ['a note not a string', { ids => [$id], action => 'escalate',
	note => 5 }, 422, 'note'],
    ['a note too long', { ids => [$id], action => 'note',
	note => 'x' x 5000 }, 422, 'note'],
    ['note without a note', { ids => [$id], action => 'note' }, 422, 'note'],
    ['send without target', { ids => [$id], action => 'send' }, 422,
	'target'],
    ) {
	my ($name, $body, $want, $field) = @$c;
	my ($st, $r) = $d->api(POST => '/api/v1/alerts/actions', $body,
	    key => 'editor');
	is($st, $want, "$name: $want");
	is($r->{error}{field}, $field, "... field " . ($field // 'none'))
	    if defined $field;
}
is($J->encode([map { alert($_) } @ids]), $before_all,
    'refused requests changed nothing');

# silences: a matching new alert is stored, marked, not announced
($st, my $si) = $d->api(POST => '/api/v1/silences', { matchers => {
    search => [$sid] }, ends => time + 3600, comment => 'maintenance' });
is($st, 201, 'a silence for the search') or diag explain $si;
my $nhook = nevents('411:notify:webhook');
$before = nevents();
($st, $r) = $d->api(POST => "/api/v1/push/$sid", [ { content => { host => 'q' } } ]);
is($r->{alerts}, 1, 'an alert while silenced');
(undef, $l) = $d->api(GET => "/api/v1/alerts?search=$sid&limit=1");
is($l->{items}[0]{silenced}, $si->{id}, 'it is marked with the silence');
sleep 1;
is(nevents(), $before, 'no alert.created for it');
is(nevents('411:notify:webhook'), $nhook, 'no delivery job for it');
is(alert($ids[1])->{silenced}, undef, 'alerts made before are not silenced');

is($d->stop, 0, 'clean stop');
done_testing;
