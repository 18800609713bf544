#!/usr/bin/perl
# 0510-filter-script.t -- end to end: the script filter (C8) through 411d
# and the Elasticsearch-compatible fake.  A program gets the run's records
# as NDJSON and returns the ones to keep, rewritten; a failing program
# (exit status, time limit, missing) follows on_error and shows as a run
# warning; bad options are refused naming the field.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;
plan skip_all => 'no /usr/bin/perl' unless -x '/usr/bin/perl';

my $tmp = tempdir('411-script-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub script {
	my ($name, $body) = @_;
	my $path = "$tmp/$name";
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $body;
	close($fh);
	chmod(0755, $path);
	return $path;
}

# Keep root's records, mark them, and say which argument it got.
my $triage = script('triage', <<'EOS');
#!/usr/bin/perl
use strict;
use JSON::PP;
my $j = JSON::PP->new->canonical;
my $tag = $ARGV[0] // 'none';
while (my $l = <STDIN>) {
	my $r = $j->decode($l);
	next unless ($r->{user} // '') eq 'root';
	$r->{verdict} = "$tag:$ENV{LEVEL}";
	print $j->encode($r), "\n";
}
EOS
my $fail = script('fail', "#!/bin/sh\ncat >/dev/null\necho boom >&2\nexit 3\n");
my $slow = script('slow', "#!/bin/sh\nexec sleep 60\n");

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es);
$d->start;

my $now = int(time * 1000);
my @docs;
for my $i (0 .. 4) {
	push @docs, { '@timestamp' => $now - 600_000 + $i * 1000,
	    program => 'sshd', n => $i, user => ($i % 2 ? 'root' : 'alice') };
}
$es->docs('logs-2026.11.25', \@docs);

sub dry {
	my ($filters) = @_;
	my ($st, $run) = $d->api(POST => '/api/v1/searches/test',
	    $d->es_search(range => '1h', filters => $filters));
	is($st, 200, 'dry run answers') or diag explain $run;
	return $run;
}

my $keep = [{ type => 'script', command => [$triage, 'ssh'],
    env => { LEVEL => 'high' }, timeout => '20s' }];
my $run = dry($keep);
is($run->{state}, 'success', 'script: success') or diag $run->{error};
my @res = sort { $a->{content}{n} <=> $b->{content}{n} } @{$run->{results}};
is(scalar @res, 2, 'the script kept 2 of 5 records');
is_deeply([map { $_->{content}{n} } @res], [1, 3], '... root\'s');
is($res[0]{content}{verdict}, 'ssh:high',
    '... rewritten, with its argument and env');
my ($batch) = grep { $_->{action} eq 'batch' } @{$run->{trace} || []};
like($batch && $batch->{reason}, qr/^script kept 2 of 5 records \(exit 0, /,
    'the trace tells the batch') or diag explain $run->{trace};

# Failures follow on_error and show as warnings.
$run = dry([{ type => 'script', command => [$fail] }]);
is($run->{state}, 'success', 'exit 3, on_error keep: the run succeeds');
is(scalar @{$run->{results}}, 5, '... every record kept');
like(join(' ', @{$run->{warnings} || []}),
    qr/filters\[0\] \(script\): exited with status 3: boom/,
    '... a warning with the status and stderr') or diag explain $run;
$run = dry([{ type => 'script', command => [$fail], on_error => 'drop' }]);
is(scalar @{$run->{results}}, 0, 'exit 3, on_error drop: nothing kept');
$run = dry([{ type => 'script', command => ["$tmp/missing"] }]);
like(join(' ', @{$run->{warnings} || []}),
    qr/cannot run \Q$tmp\E\/missing: No such file/,
    'a missing program: a warning') or diag explain $run;
my $t0 = time;
$run = dry([{ type => 'script', command => [$slow], timeout => '1s' }]);
like(join(' ', @{$run->{warnings} || []}), qr/timed out after 1s/,
    'a slow program: killed at its time limit') or diag explain $run;
ok(time - $t0 < 30, 'the run did not wait for the program');
is(scalar @{$run->{results}}, 5, '... records kept');
my ($hst) = $d->api(GET => '/api/v1/searches');
is($hst, 200, 'the daemon still answers');

# Bad options.
my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'script', command => ['triage'] }]));
is($st, 422, 'a relative program refused');
is($e->{error}{field}, 'filters[0].command', '... naming the field');
like($e->{error}{message}, qr/^script: the program must be an absolute/,
    "... $e->{error}{message}");
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'script', command => [$triage],
	timeout => '1h' }]));
is($e->{error}{field}, 'filters[0].timeout', 'a time limit over 5m refused');

# A stored search: the alerts are what the script returned.
($st, my $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	range => '1h', filters => $keep));
is($st, 201, 'search with a script saved') or diag explain $s;
($st, $run) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
is($run->{state}, 'success', 'real run succeeded') or diag $run->{error};
is($run->{alerts}, 2, '... 2 alerts');
my ($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$s->{id}");
is_deeply([sort map { $_->{content}{verdict} } @{$al->{items}}],
    ['ssh:high', 'ssh:high'], '... with the script\'s field');

# No program is left behind.
my @left = grep { m{\Q$tmp\E} } `ps -eo args 2>/dev/null`;
is(scalar @left, 0, 'no script process left') or diag @left;
my $dp = $d->daemon_pid;
my @zombies = $dp ? grep { /^\s*Z/ } `ps -o stat=,args= --ppid $dp 2>/dev/null`
    : ();
is(scalar @zombies, 0, 'no zombie left') or diag @zombies;

$d->stop;
like($d->log, qr/stopped/, '411d stopped cleanly');
done_testing();
