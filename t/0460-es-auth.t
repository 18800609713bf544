#!/usr/bin/perl
# 0460-es-auth.t -- an es source's credentials: basic authentication and
# an API key are sent; a cluster that refuses them fails the run with its
# own words (and the password never appears in errors or logs).
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
my $es = FakeES->new(flavour => 'es8');
my $u = $es->url;
my $d = Test411->new(redis => $redis, sources => join("\n",
    "source good es $u index logs-* user alice password \"s3cret pass\"",
    "source bad es $u index logs-* user alice password wrong-password",
    "source keyed es $u index logs-* api_key VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="));
$d->start;

$es->docs('logs-x', [ { '@timestamp' => int(time * 1000) - 60_000,
    program => 'sshd' } ]);
$es->call(POST => '/_fake/auth', { basic => 'alice:s3cret pass',
    api_key => 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' });

sub try_source {
	my ($src) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches',
	    $d->es_search(source => $src, range => '1h'));
	my (undef, $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run",
	    { dry_run => JSON::PP::true });
	return $r;
}

my $r = try_source('good');
is($r->{state}, 'success', 'basic authentication accepted') or diag $r->{error};
is($r->{hits}, 1, '... and the search ran');
my ($basic) = grep { $_->{authorization} } @{$es->requests};
like($basic->{authorization}, qr/^Basic /, 'sent as Basic');

$r = try_source('keyed');
is($r->{state}, 'success', 'API key accepted') or diag $r->{error};
ok((grep { ($_->{authorization} // '') =~ /^ApiKey / } @{$es->requests}),
    'sent as ApiKey');

$r = try_source('bad');
is($r->{state}, 'failed', 'a wrong password fails the run');
like($r->{error}, qr/401/, '... with the status');
like($r->{error}, qr/unable to authenticate/, '... and the cluster\'s words');
unlike($r->{error}, qr/wrong-password/, '... never the password');
unlike($d->log, qr/wrong-password|s3cret/, 'no password in the log');

is($d->stop, 0, 'clean stop');
done_testing;
