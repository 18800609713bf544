#!/usr/bin/perl
# 0300-es-search.t -- end to end: a search created through the API runs
# against the Elasticsearch-compatible fake; its alerts appear in the API
# and as events in the Redis stream and channel, with a delivery job per
# target; dedupe holds across a restart; a kill -9 and restart add no
# duplicate; with Redis down runs go on and the outbox delivers later.
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

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

my $now = int(time * 1000);
my @docs;
for my $i (0 .. 4) {
	push @docs, {
		'@timestamp' => $now - 600_000 + $i * 1000,
		program => 'sshd',
		host => "web0$i",
		user => ($i % 2 ? 'root' : 'alice'),
		src_ip => "203.0.113.$i",
		message => 'Failed password',
	};
}
push @docs, { '@timestamp' => $now - 500_000, program => 'nginx',
    host => 'web09', message => 'GET /' };
$es->docs('logs-2026.11.25', \@docs);

# create
my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	name => 'SSH failures',
	query => 'program:sshd',
	fields => ['host', 'user', 'src_ip'],
	range => '1h',
	priority => 'high',
	tags => ['ssh'],
	filters => [{ type => 'dedupe', key => ['host'], within => '1d' }],
	targets => [{ target => 'soc-webhook' }],
));
is($st, 201, 'search created') or diag explain $s;
my $id = $s->{id};
ok($id, "it has an id ($id)");
is($s->{version}, 1, 'version 1');
is($s->{origin}, 'api', 'origin api');

# dry run first: results, nothing stored
my ($rst, $dry) = $d->api(POST => "/api/v1/searches/$id/run",
    { dry_run => JSON::PP::true });
is($rst, 200, 'dry run answers') or diag explain $dry;
is($dry->{state}, 'success', 'dry run succeeded') or diag $dry->{error};
is($dry->{hits}, 5, 'dry run saw the 5 sshd hits');
is(scalar @{$dry->{results}}, 5, 'dry run would make 5 alerts');
my ($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$id");
is(scalar @{$al->{items}}, 0, 'a dry run stores no alert');

# an unsaved definition, tried out
my ($tst, $try) = $d->api(POST => '/api/v1/searches/test',
    $d->es_search(query => 'program:sshd', fields => ['host'], range => '1h'));
is($tst, 200, 'POST /searches/test answers') or diag explain $try;
ok($try->{dry_run}, '... as a dry run');
is(scalar @{$try->{results}}, 5, '... with the 5 alerts it would make');
is_deeply([sort keys %{$try->{results}[0]{content}}], ['host'],
    '... from the definition sent');
($tst, $try) = $d->api(POST => '/api/v1/searches/test', {
    search => $d->es_search(query => 'program:sshd', range => '1h'),
    at => int($now / 1000) - 7200 });
is($tst, 200, 'the {"search", "at"} form');
is(scalar @{$try->{results}}, 0, '... "at" two hours back sees nothing');
($tst, $try) = $d->api(POST => '/api/v1/searches/test',
    $d->es_search(schedule => { every => 'soon' }));
is($tst, 422, 'an invalid definition: 422');
is($try->{error}{field}, 'schedule.every', '... naming the field');
($tst) = $d->api(POST => '/api/v1/searches/test', $d->es_search,
    key => 'viewer');
is($tst, 403, 'a viewer may not try searches');
my ($lst, $lj) = $d->api(GET => '/api/v1/searches');
is(scalar @{$lj->{items}}, 1, 'trying stored no search');

# real run, with a live subscriber on the events channel
my $sub = $redis->subscribe('411:events');
my ($rst2, $run) = $d->api(POST => "/api/v1/searches/$id/run", {});
is($rst2, 200, 'run answers') or diag explain $run;
is($run->{state}, 'success', 'run succeeded') or diag $run->{error};
is($run->{alerts}, 5, 'run made 5 alerts');

($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=100");
is($ast, 200, 'alerts listed');
my @alerts = sort { $a->{id} <=> $b->{id} } @{$al->{items}};
is(scalar @alerts, 5, '5 alerts stored');
is_deeply([sort map { $_->{content}{host} } @alerts],
    [map { "web0$_" } 0 .. 4], 'one alert per host, content from fields');
is_deeply([sort keys %{$alerts[0]{content}}], ['host', 'src_ip', 'user'],
    'content holds only the selected fields');
is($alerts[0]{state}, 'new', 'state new');
is($alerts[0]{priority}, 'high', 'priority from the search');
like($alerts[0]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    'event time in RFC 3339');
like($alerts[0]{content_hash}, qr/^sha256:[0-9a-f]{64}$/, 'content hash');
like($alerts[0]{source_id}, qr{^logs-2026\.11\.25/}, 'source id index/id');
my %ids = map { $_->{id} => 1 } @alerts;
is(scalar keys %ids, 5, 'alert ids unique');

my ($one_st, $one) = $d->api(GET => "/api/v1/alerts/$alerts[0]{id}");
is($one_st, 200, 'one alert by id');
is($one->{id}, $alerts[0]{id}, '... the same alert');
($one_st) = $d->api(GET => "/api/v1/alerts/999999");
is($one_st, 404, 'unknown alert 404');

# Redis: stream entries and delivery jobs
sub stream {
	my ($key) = @_;
	my $r = $redis->cmd('XRANGE', $key, '-', '+');
	my @out;
	for my $e (@$r) {
		my %f = @{$e->[1]};
		$f{_id} = $e->[0];
		$f{_payload} = $J->decode($f{payload}) if defined $f{payload};
		push @out, \%f;
	}
	return \@out;
}
ok($d->wait_for(sub { @{stream('411:events')} >= 5 }, 20),
    'events reach 411:events');
my $ev = stream('411:events');
my @created = grep { $_->{type} eq 'alert.created' } @$ev;
is(scalar @created, 5, '5 alert.created entries');
is($created[0]{v}, '1', 'entry field v=1');
ok(length $created[0]{id}, 'entry field id');
my $p = $created[0]{_payload};
is($p->{schema}, '411.event.v1', 'payload schema');
is($p->{event_type}, 'alert.created', 'payload event_type');
is($p->{event_id}, $created[0]{id}, 'payload event_id = entry id');
is($p->{search}{id}, $id, 'payload search id');
is($p->{search}{name}, 'SSH failures', 'payload search name');
ok($p->{alert}{id}, 'payload carries the alert');
ok($p->{producer}{instance}, 'payload producer instance');
my @msgs;
while (defined(my $m = $sub->next_message(@msgs < 5 ? 10 : 1))) {
	push @msgs, $J->decode($m);
}
is(scalar @msgs, 5, 'each event published once on the 411:events channel');
is_deeply([sort map { $_->{event_id} } @msgs], [sort map { $_->{id} } @created],
    '... the same events as the stream');
my $jobs = stream('411:notify:webhook');
is(scalar @$jobs, 5, 'one delivery job per alert for the webhook target');
is($jobs->[0]{_payload}{target}{name}, 'soc-webhook', 'job names its target');
is($jobs->[0]{_payload}{target}{type}, 'webhook', '... and type');
is(scalar @{stream('411:notify:email')}, 0, 'nothing for an unnamed target');

# dedupe: the same hits again make no new alert, also across a restart
$d->stop;
$d->start;
($rst2, $run) = $d->api(POST => "/api/v1/searches/$id/run", {});
is($run->{state}, 'success', 'second run succeeded') or diag $run->{error};
is($run->{alerts}, 0, 'dedupe (persisted across the restart) drops all 5');
is($run->{dropped}, 5, '... counted as dropped');

# job history
my ($jst, $jl) = $d->api(GET => "/api/v1/searches/$id/jobs");
is($jst, 200, 'jobs listed');
cmp_ok(scalar @{$jl->{items}}, '>=', 2, 'both manual runs recorded');
is($jl->{items}[0]{state}, 'success', 'newest job first, success');
ok(defined $jl->{items}[0]{window}{from} && defined $jl->{items}[0]{window}{to},
    'job has its window');

# Redis down: runs go on, events wait in the outbox, then arrive once.
$es->docs('logs-2026.11.25', [ map { {
	'@timestamp' => $now - 300_000 + $_, program => 'sshd',
	host => "db0$_", user => 'bob', src_ip => '198.51.100.7' } } 1 .. 3 ]);
$redis->cmd('SAVE');	# redis keeps the stream across its restart
$redis->stop;
($rst2, $run) = $d->api(POST => "/api/v1/searches/$id/run", {});
is($run->{alerts}, 3, 'with redis down the run still makes 3 alerts');
ok($d->wait_for(sub { ($d->metric('four11_outbox_depth') // 0) >= 3 }, 20),
    'the 3 events wait in the outbox');
$redis->start;
ok($d->wait_for(sub { ($d->metric('four11_outbox_depth') // 1) == 0 }, 60),
    'the outbox drains once redis is back');
$ev = stream('411:events');
is(scalar(grep { $_->{type} eq 'alert.created' } @$ev), 8,
    'all 8 alert.created events in the stream, none lost');

# kill -9 and restart: no event twice
$d->kill9;
$d->start;
sleep 1;
$ev = stream('411:events');
my %seen;
$seen{$_->{id}}++ for @$ev;
is(scalar(grep { $seen{$_} > 1 } keys %seen), 0, 'no event id twice after kill -9');
is(scalar(grep { $_->{type} eq 'alert.created' } @$ev), 8, 'still 8 events');

($st, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=100");
is(scalar @{$al->{items}}, 8, 'all 8 alerts survived kill -9, none twice');
my %aid = map { $_->{id} => 1 } @{$al->{items}};
is(scalar keys %aid, 8, '... with 8 distinct ids');
($st, $s) = $d->api(GET => "/api/v1/searches/$id");
is($s->{name}, 'SSH failures', 'the search survived kill -9');
($rst2, $run) = $d->api(POST => "/api/v1/searches/$id/run", {});
is($run->{alerts}, 0, 'dedupe state survived kill -9 too');
my ($a9) = sort { $b->{id} <=> $a->{id} } @{$al->{items}};
$es->docs('logs-2026.11.25', [{ '@timestamp' => $now - 100_000,
    program => 'sshd', host => 'new01', user => 'eve', src_ip => '192.0.2.1' }]);
($rst2, $run) = $d->api(POST => "/api/v1/searches/$id/run", {});
($st, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=1");
cmp_ok($al->{items}[0]{id}, '>', $a9->{id},
    'a new alert after the restart gets a larger id');

# deleting the search
($st) = $d->api(DELETE => "/api/v1/searches/$id");
is($st, 200, 'search deleted');
($st) = $d->api(GET => "/api/v1/searches/$id");
is($st, 404, 'gone');

is($d->stop, 0, 'clean stop');
done_testing;
