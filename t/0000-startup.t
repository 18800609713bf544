#!/usr/bin/perl
# 0000-startup.t -- 411d's flags, the ready line, /healthz, /metrics,
# authentication, SIGHUP and a clean SIGTERM, on a config with no source.
use strict;
use warnings;
use Test::More;
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;

# -V
my $v = `$bin -V 2>&1`;
is($? >> 8, 0, '-V exits 0');
like($v, qr/^411d \d+\.\d+/, '-V prints the version');

# unknown flag
my $u = `$bin -Z 2>&1`;
isnt($? >> 8, 0, 'an unknown flag is refused');
like($u, qr/usage/i, '... with the usage');

my $d = Test411->new;
$d->write_conf;
my $conf = $d->conffile;
my $out = `$bin -n -c $conf 2>&1`;
is($? >> 8, 0, '-n on a good config exits 0') or diag $out;
like($out, qr/configuration OK/, '-n prints configuration OK');

$d->start;
ok($d->port > 0, 'ready line names the real port ' . $d->port);
like($d->log, qr/ready .*api=127\.0\.0\.1:\d+/, 'ready api=HOST:PORT logged');

my ($st, $j) = $d->api(GET => '/healthz', undef, key => undef);
is($st, 200, '/healthz without a key');
is($j->{redis}, 'down', '/healthz says redis is down (no redis here)');
ok(exists $j->{outbox}, '/healthz reports the outbox depth');
is($j->{status}, 'degraded', 'degraded while redis is down');

my $res = HTTP::Tiny->new->get($d->url . '/metrics');
is($res->{status}, 200, '/metrics without a key');
like($res->{content}, qr/^# TYPE four11_runs_total counter$/m,
    '/metrics is Prometheus text with four11_runs_total');
like($res->{content}, qr/^four11_runs_in_flight 0$/m, 'runs in flight 0');
like($res->{content}, qr/^four11_outbox_depth 0$/m, 'outbox depth 0');

# authentication and roles
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => undef);
is($st, 401, 'no key: 401');
is($j->{error}{code}, 'unauthorized', '... error code unauthorized');
($st) = $d->api(GET => '/api/v1/searches', undef,
    key => 'wrong-key-0123456789abcdef');
is($st, 401, 'unknown key: 401');
($st, $j) = $d->api(GET => '/api/v1/searches', undef, key => 'viewer');
is($st, 200, 'viewer may list');
is_deeply($j->{items}, [], 'no searches yet');
($st, $j) = $d->api(GET => '/api/v1/searches', undef,
    key => undef, headers => { 'X-API-Key' => $Test411::KEYS{viewer} });
is($st, 200, 'X-API-Key works too');
($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'x' },
    key => 'viewer');
is($st, 403, 'viewer may not create: 403');
is($j->{error}{code}, 'forbidden', '... error code forbidden');
($st, $j) = $d->api(GET => '/api/v1/nothing', undef, key => 'viewer');
is($st, 404, 'unknown route: 404');

# SIGHUP with a broken config: reported, old config stays
open(my $fh, '>>', $conf) or die;
print $fh "bogus_directive 1\n";
close($fh);
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($pos) =~ /bogus_directive/ }, 20),
    'SIGHUP with a bad config logs the error');
like($d->log_since($pos), qr/\Q$conf\E:\d+: .*bogus_directive/,
    '... as FILE:LINE: message');
($st) = $d->api(GET => '/api/v1/searches', undef, key => 'viewer');
is($st, 200, '... and 411d keeps serving with the old config');

is($d->stop, 0, 'SIGTERM: clean exit 0');
like($d->log, qr/stopp/i, 'says it stopped');

done_testing;
