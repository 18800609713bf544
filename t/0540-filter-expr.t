#!/usr/bin/perl
# 0540-filter-expr.t -- end to end: the expression, mapvalue and mapkey
# filters (C5, C6) through 411d and the Elasticsearch-compatible fake:
# what they keep and rewrite reaches the stored alerts; a failing
# expression follows on_error and is reported in the job; parse errors
# name the position.
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
my $es = FakeES->new(flavour => 'os2');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

my $now = int(time * 1000);
my @docs = (
	{ user => 'Alice', status => 503, src => { ip => '10.1.2.3' },
	  bytes => 100, password => 'x' },
	{ user => 'bob', status => 200, src => { ip => '10.1.9.9' },
	  bytes => 0, password => 'y' },
	{ user => 'ROOT', status => 500, src => { ip => '192.0.2.7' },
	  bytes => 50, password => 'z' },
	{ user => 'carol', status => 404, src => { ip => '10.2.0.1' },
	  bytes => 10, password => 'w' },
);
my $i = 0;
for (@docs) {
	$_->{'@timestamp'} = $now - 600_000 + $i++ * 1000;
	$_->{program} = 'nginx';
}
$es->docs('logs-2026.11.25', \@docs);

sub mk {
	my ($name, @filters) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	    name => $name, query => 'program:nginx', range => '1h',
	    fields => ['user', 'status', 'src.ip', 'bytes', 'password'],
	    filters => \@filters));
	is($st, 201, "$name: created") or diag explain $s;
	return $s->{id};
}

sub run {
	my ($id, %o) = @_;
	my ($st, $run) = $d->api(POST => "/api/v1/searches/$id/run", {%o});
	is($st, 200, 'run answers') or diag explain $run;
	return $run;
}

sub alerts {
	my ($id) = @_;
	my ($st, $al) = $d->api(GET => "/api/v1/alerts?search=$id&limit=100");
	return [ sort { $a->{content}{bytes} <=> $b->{content}{bytes} }
	    @{$al->{items}} ];
}

# expression: server errors, or 10.1/16 addresses of lower-case users
my $id = mk('expression', { type => 'expression', expr =>
    q{status >= 500 and not (lower(user) == 'root') or } .
    q{(cidr(src.ip, '10.1.0.0/16') and user == lower(user))} });
my $run = run($id);
is($run->{state}, 'success', 'expression: run succeeded') or
    diag $run->{error};
is($run->{hits}, 4, '... 4 hits');
is($run->{alerts}, 2, '... 2 kept');
is_deeply([map { $_->{content}{user} } @{alerts($id)}], ['bob', 'Alice'],
    '... Alice (503) and bob (10.1.9.9)');

# mapvalue and mapkey: rewrite, rename, remove
$id = mk('rewrite',
    { type => 'mapvalue', set => { user => 'lower(user)',
      kb => 'bytes / 10', net => q{cidr(src.ip, '10.0.0.0/8')} } },
    { type => 'mapkey', map => { 'src.ip' => 'source_ip',
      password => undef } });
$run = run($id);
is($run->{alerts}, 4, 'rewrite: 4 alerts');
my $al = alerts($id);
is_deeply($al->[3]{content}, { user => 'alice', status => 503,
    source_ip => '10.1.2.3', bytes => 100, kb => 10, net => JSON::PP::true },
    'the stored content is rewritten, renamed, and the password gone')
    or diag explain $al->[3]{content};
is($al->[0]{content}{user}, 'bob', 'bob stays bob');
is($al->[2]{content}{net}, JSON::PP::false, '192.0.2.7 is not in 10/8');

# the dry run trace shows the changes
my $dry = run($id, dry_run => JSON::PP::true);
my @ch = grep { $_->{action} eq 'changed' } @{$dry->{trace}};
is(scalar @ch, 8, 'trace: each record changed by both filters');
like($ch[0]{reason}, qr/^set /, "... mapvalue: $ch[0]{reason}");
like($ch[1]{reason}, qr/renamed or removed 2 keys/,
    "... mapkey: $ch[1]{reason}");
is($ch[0]{record}, 0, '... record numbers');

# a failing expression: on_error keep (default) and drop
$id = mk('keep on error', { type => 'expression',
    expr => 'bytes / (bytes - bytes) > 1' });
$run = run($id);
is($run->{state}, 'success', 'a failing expression does not fail the run');
is($run->{alerts}, 4, 'on_error keep: every record kept');
my ($jst, $jobs) = $d->api(GET => "/api/v1/searches/$id/jobs");
my ($w) = grep { /filter error/ } @{$jobs->{items}[0]{warnings} || []};
like($w, qr/^4 filter errors; the first: filters\[0\] \(expression\): at \d+: division by zero/,
    "the job says so: $w");
$id = mk('drop on error', { type => 'expression', on_error => 'drop',
    expr => 'bytes / (bytes - bytes) > 1' });
$run = run($id);
is($run->{alerts}, 0, 'on_error drop: none kept');
$dry = run($id, dry_run => JSON::PP::true);
is(scalar(grep { $_->{action} eq 'error' } @{$dry->{trace}}), 4,
    'the trace shows 4 errors');

# parse errors name the position
my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
    filters => [{ type => 'expression', expr => 'status >= (500' }]));
is($st, 422, 'an unclosed parenthesis is refused');
is($e->{error}{field}, 'filters[0].expr', '... naming filters[0].expr');
like($e->{error}{message}, qr/^expression: at \d+: /,
    "... and the position: $e->{error}{message}");
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
    filters => [{ type => 'mapvalue', set => { a => 'nosuch(x)' } }]));
is($e->{error}{field}, 'filters[0].set.a', 'mapvalue: the field named');
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
    filters => [{ type => 'mapkey', map => { a => 5 } }]));
is($e->{error}{field}, 'filters[0].map', 'mapkey: a bad new name');

$d->stop;
done_testing;
