#!/usr/bin/perl
# 0500-filters.t -- end to end: the regex, hash, newterm and change filters
# (C3, C4, C9, C10) through 411d and the Elasticsearch-compatible fake.
# Each shows its effect in a dry run (results and trace) and in a real run
# (the alerts stored); newterm and change keep their state across
# consecutive runs and a restart, and a dry run moves none of it; invalid
# filters are refused with 422 naming the field.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

# Two hours of documents: A = [H-2h, H-1h), B = [H-1h, H).
my $H = int(time / 3600) * 3600;
my $A = ($H - 7200) * 1000 + 60_000;
my $B = ($H - 3600) * 1000 + 60_000;
my @docs;
my $n = 0;
sub doc {
	my ($t, %f) = @_;
	push @docs, { '@timestamp' => $t + 1000 * $n++, %f };
}
# regex and hash: hour B
doc($B, program => 'rx', user => 'alice', message => 'Invalid user admin');
doc($B, program => 'rx', user => 'bob', message => 'INVALID USER test');
doc($B, program => 'rx', user => 'carol', message => 'Accepted password');
doc($B, program => 'rx', user => 'dave', message => 'session opened');
# newterm: alice, bob, alice in A; alice, carol, carol in B
doc($A, program => 'nt', user => 'alice', host => 'web1');
doc($A, program => 'nt', user => 'bob', host => 'web1');
doc($A, program => 'nt', user => 'alice', host => 'web2');
doc($B, program => 'nt', user => 'alice', host => 'web3');
doc($B, program => 'nt', user => 'carol', host => 'web1');
doc($B, program => 'nt', user => 'carol', host => 'web2');
# change: web1 up, web2 up in A; web1 up then down, web2 up in B
doc($A, program => 'ch', host => 'web1', status => 'up');
doc($A, program => 'ch', host => 'web2', status => 'up');
doc($B, program => 'ch', host => 'web1', status => 'up');
doc($B, program => 'ch', host => 'web2', status => 'up');
doc($B, program => 'ch', host => 'web1', status => 'down');
$es->docs('logs-2026.11.25', \@docs);

sub create {
	my (%o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    range => '1h', %o));
	is($st, 201, "search \"$o{name}\" created") or diag explain $s;
	return $s->{id};
}

sub run {
	my ($id, $at, %o) = @_;
	my ($st, $run) = $d->api(POST => "/api/v1/searches/$id/run",
	    { at => $at, %o });
	is($st, 200, 'run answers') or diag explain $run;
	is($run->{state}, 'success', '... succeeded') or
	    diag $run->{error} // explain $run;
	return $run;
}

sub alerts {
	my ($id) = @_;
	my ($st, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=100");
	is($st, 200, 'alerts listed');
	return [ sort { $a->{id} <=> $b->{id} } @{$al->{items}} ];
}

sub traced {
	my ($run, $type, $action) = @_;
	return [ grep { $_->{type} eq $type && $_->{action} eq $action }
	    @{$run->{trace} // []} ];
}

my $DRY = JSON::PP::true;

# C3 regex: include "invalid user", case-insensitive, on one key.
my $rx = create(name => 'invalid users', query => 'program:rx',
    filters => [{ type => 'regex', key => 'message',
    pattern => '^invalid user ', case_insensitive => JSON::PP::true }]);
my $run = run($rx, $H, dry_run => $DRY);
is($run->{hits}, 4, 'regex dry run: 4 hits');
is_deeply([sort map { $_->{content}{user} } @{$run->{results}}],
    ['alice', 'bob'], '... alice and bob match (any case)');
my $tr = traced($run, 'regex', 'dropped');
is(scalar @$tr, 2, '... the trace shows 2 dropped');
like($tr->[0]{reason}, qr{^field "message" does not match /\^invalid user /},
    "... $tr->[0]{reason}");
is(scalar @{alerts($rx)}, 0, '... and stores nothing');
$run = run($rx, $H);
is($run->{alerts}, 2, 'regex real run: 2 alerts');
is($run->{dropped}, 2, '... 2 dropped');
is_deeply([sort map { $_->{content}{user} } @{alerts($rx)}],
    ['alice', 'bob'], '... stored for alice and bob');

# regex exclude on any field
my $rx2 = create(name => 'not invalid', query => 'program:rx',
    filters => [{ type => 'regex', pattern => '(?i)invalid|session',
    exclude => JSON::PP::true }]);
$run = run($rx2, $H, dry_run => $DRY);
is_deeply([map { $_->{content}{user} } @{$run->{results}}], ['carol'],
    'regex exclude on any field: only carol passes');
$tr = traced($run, 'regex', 'dropped');
like($tr->[0]{reason}, qr/^its field "message" matches/,
    "... $tr->[0]{reason}");

# A pattern that backtracks for ever: a filter error, on_error decides.
doc($B, program => 'rxbad', m => ('a' x 40) . 'b');
doc($B, program => 'rxbad', m => 'aaa');
$es->docs('logs-2026.11.25', [ @docs[-2, -1] ]);
my $rx3 = create(name => 'catastrophic', query => 'program:rxbad',
    filters => [{ type => 'regex', key => 'm', pattern => '(a+)+$',
    on_error => 'drop' }]);
$run = run($rx3, $H, dry_run => $DRY);
is(scalar @{$run->{results}}, 1, 'match limit: the bad record is dropped');
$tr = traced($run, 'regex', 'error');
is(scalar @$tr, 1, '... traced as an error');
like($tr->[0]{reason}, qr/limit/, "... $tr->[0]{reason}");
$run = run($rx3, $H);
is($run->{alerts}, 1, '... the real run alerts on the good one');
ok(grep({ /filter error/ && /match limit/ } @{$run->{warnings} // []}),
    '... and warns of the filter error') or diag explain $run;

# C4 hash: the content hash of an alert, then dropped by a hash filter.
my $plain = create(name => 'all rx', query => 'program:rx');
$run = run($plain, $H, dry_run => $DRY);
my ($bob) = grep { $_->{content}{user} eq 'bob' } @{$run->{results}};
like($bob->{content_hash}, qr/^sha256:[0-9a-f]{64}$/,
    "bob's alert would hash to $bob->{content_hash}");
my $hs = create(name => 'not bob', query => 'program:rx',
    filters => [{ type => 'hash', hashes => [$bob->{content_hash},
    'sha256:' . ('0' x 64)] }]);
$run = run($hs, $H, dry_run => $DRY);
is_deeply([sort map { $_->{content}{user} } @{$run->{results}}],
    ['alice', 'carol', 'dave'], 'hash dry run: bob is left out');
$tr = traced($run, 'hash', 'dropped');
is(scalar @$tr, 1, '... one dropped in the trace');
like($tr->[0]{reason}, qr/^its content hash sha256:[0-9a-f]+\.\.\. is listed/,
    "... $tr->[0]{reason}");
$run = run($hs, $H);
is($run->{alerts}, 3, 'hash real run: 3 alerts');
ok(!grep({ $_->{content_hash} eq $bob->{content_hash} } @{alerts($hs)}),
    "... none with bob's hash");
# With the search's "fields", the filter's "fields" match.
my $hsf = create(name => 'fields', query => 'program:rx',
    fields => ['user']);
$run = run($hsf, $H, dry_run => $DRY);
($bob) = grep { $_->{content}{user} eq 'bob' } @{$run->{results}};
my $hsf2 = create(name => 'fields, not bob', query => 'program:rx',
    fields => ['user'], filters => [{ type => 'hash',
    hashes => [$bob->{content_hash}], fields => ['user'] }]);
$run = run($hsf2, $H);
is($run->{alerts}, 3, 'hash with fields: bob left out');

# C9 newterm: consecutive runs, a dry run, a restart.
my $nt = create(name => 'new users', query => 'program:nt',
    filters => [{ type => 'newterm', key => ['user'] }]);
$run = run($nt, $H - 3600);
is($run->{hits}, 3, 'newterm run 1 (hour A): 3 hits');
is($run->{alerts}, 2, '... 2 alerts: alice and bob');
is_deeply([sort map { $_->{content}{user} } @{alerts($nt)}],
    ['alice', 'bob'], '... stored');
$run = run($nt, $H, dry_run => $DRY);
is_deeply([map { $_->{content}{user} } @{$run->{results}}], ['carol'],
    'newterm dry run (hour B): only carol is new');
$tr = traced($run, 'newterm', 'dropped');
is(scalar @$tr, 2, '... alice and carol again dropped');
like(join(' ', map { $_->{reason} } @$tr), qr/user="alice" was seen/,
    '... alice was seen');
is(scalar @{traced($run, 'newterm', 'batch')}, 0,
    '... decided as the hits stream in (no end-of-run step)');
$d->stop;
$d->start;
$run = run($nt, $H);
is($run->{alerts}, 1, 'after a restart the real run (hour B) alerts once');
my $al = alerts($nt);
is($al->[-1]{content}{user}, 'carol', '... for carol');
$run = run($nt, $H);
is($run->{alerts}, 0, 'hour B again: nothing new');

# newterm with a learning period: nothing passes yet.
my $ntl = create(name => 'learning', query => 'program:nt',
    filters => [{ type => 'newterm', key => ['host'], learn => '1d' }]);
$run = run($ntl, $H - 3600);
is($run->{alerts}, 0, 'learning: no alert');
$run = run($ntl, $H, dry_run => $DRY);
is(scalar @{$run->{results}}, 0, 'learning: a dry run an hour later: none');
ok(grep({ $_->{reason} =~ /^host="web3" is new, but the search is still learning/ }
    @{traced($run, 'newterm', 'dropped')}), '... web3 new, but learning');

# C10 change: first sightings dropped, then the change passes.
my $ch = create(name => 'status changes', query => 'program:ch',
    filters => [{ type => 'change', field => 'status', key => ['host'],
    add_previous => JSON::PP::true }]);
$run = run($ch, $H - 3600);
is($run->{hits}, 2, 'change run 1 (hour A): 2 hits');
is($run->{alerts}, 0, '... first values: no alert');
$run = run($ch, $H, dry_run => $DRY);
is(scalar @{$run->{results}}, 1, 'change dry run (hour B): one change');
is($run->{results}[0]{content}{host}, 'web1', '... web1');
my ($chg) = @{traced($run, 'change', 'changed')};
is($chg->{reason}, 'status changed from "up" to "down"',
    "... traced: $chg->{reason}");
$d->stop;
$d->start;
$run = run($ch, $H);
is($run->{alerts}, 1, 'after a restart the real run alerts once');
$al = alerts($ch);
is($al->[0]{content}{status}, 'down', '... status down');
is($al->[0]{content}{previous_status}, 'up', '... previous_status up');
$run = run($ch, $H);
is($run->{alerts}, 0, 'hour B again: down is the last value now');

# Invalid filters are refused naming the field.
for my $bad (
    [ { type => 'regex', pattern => 'ab(c' }, 'filters[0].pattern',
      qr/^regex: at 4: missing closing parenthesis/ ],
    [ { type => 'hash', hashes => ['sha256:xyz'] }, 'filters[0].hashes[0]',
      qr/^hash: must be "sha256:"/ ],
    [ { type => 'newterm', key => ['u'], expire => 'soon' },
      'filters[0].expire', qr/^newterm: / ],
    [ { type => 'change', field => 'status', first => 'maybe' },
      'filters[0].first', qr/^change: must be "pass" or "drop"/ ],
) {
	my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    filters => [$bad->[0]]));
	is($st, 422, "$bad->[0]{type}: invalid options refused");
	is($e->{error}{field}, $bad->[1], "... naming $bad->[1]");
	like($e->{error}{message}, $bad->[2], "... $e->{error}{message}");
}

$d->stop;
done_testing();
