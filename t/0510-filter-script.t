#!/usr/bin/perl
# 0510-filter-script.t -- end to end: the script filter (C8) through 411d
# and the Elasticsearch-compatible fake.  A program the operator put in
# script_dir gets the run's records as NDJSON and returns the ones to keep,
# rewritten; a failing program (exit status, time or CPU limit, missing)
# follows on_error and shows as a run warning; bad options are refused
# naming the field.  The trust boundary (issue 11): a search names a
# program, never a path nor a command line; "command" is refused (the
# reproduction: an editor's /bin/sh -c never runs); names with '/', "..",
# absolute paths and symlinks leaving script_dir are refused; without
# script_dir every script filter is refused; the program sees only PATH,
# LANG and FOUR11_*, and runs as script_user (nobody) when 411d is root.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;
plan skip_all => 'no /usr/bin/perl' unless -x '/usr/bin/perl';

# script_dir, and a directory outside it; both open to script_user.
my $tmp = tempdir('411-script-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod(0755, $tmp);
my $sdir = "$tmp/scripts";
my $out = "$tmp/outside";
mkdir($sdir, 0755) or die "$sdir: $!";
mkdir($out, 0755) or die "$out: $!";
chmod(0777, $out);		# writable by anyone: a run would leave a trace

sub script {
	my ($name, $body, $dir) = @_;
	my $path = ($dir // $sdir) . "/$name";
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $body;
	close($fh);
	chmod(0755, $path);
	return $path;
}

# Keep root's records, mark them with its two arguments.
script('triage', <<'EOS');
#!/usr/bin/perl
use strict;
use JSON::PP;
my $j = JSON::PP->new->canonical;
my $tag = $ARGV[0] // 'none';
my $level = $ARGV[1] // 'none';
while (my $l = <STDIN>) {
	my $r = $j->decode($l);
	next unless ($r->{user} // '') eq 'root';
	$r->{verdict} = "$tag:$level";
	print $j->encode($r), "\n";
}
EOS
# One record: its environment's names, its uid and its working directory.
script('whoami', <<'EOS');
#!/usr/bin/perl
use strict;
use Cwd;
use JSON::PP;
1 while <STDIN>;
print JSON::PP->new->canonical->encode({ env => join(',', sort keys %ENV),
    uid => $<, euid => $>, gid => $( + 0, search => $ENV{FOUR11_SEARCH_ID},
    cwd => getcwd() }), "\n";
EOS
script('fail', "#!/bin/sh\ncat >/dev/null\necho boom >&2\nexit 3\n");
script('slow', "#!/bin/sh\nexec sleep 60\n");
script('busy', "#!/bin/sh\ncat >/dev/null\nwhile :; do :; done\n");
# Outside script_dir, reached by a symlink inside it.
my $evil = script('evil', "#!/bin/sh\ntouch $out/evil.ran\ncat\n", $out);
symlink($evil, "$sdir/escape") or die "symlink: $!";
symlink('triage', "$sdir/alias") or die "symlink: $!";

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es,
    conf => "script_dir $sdir/\nscript_user nobody");
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

# Refused at POST: status 422, the field, the message.
sub refused {
	my ($filters, $field, $re, $what, %o) = @_;
	my ($st, $e) = $d->api(POST => '/api/v1/searches', $o{def} //
	    $d->es_search(filters => $filters), key => $o{key} // 'admin');
	is($st, 422, "$what: refused") or diag explain $e;
	is($e->{error}{field}, $field, "... naming $field");
	like($e->{error}{message} // '', $re, "... $e->{error}{message}")
	    if defined $e->{error}{message};
}

# The issue's reproduction: an editor's push search with a shell command.
my $cmd = { type => 'script',
    command => ['/bin/sh', '-c', "id > $out/x; cat"] };
my %push = (name => 'ids', type => 'push', fields => ['host']);
refused(undef, 'filters[0].command',
    qr/^script: is no longer accepted: .*name a program the operator put in script_dir with "script"/,
    'an editor\'s "command" (/bin/sh -c)',
    def => { %push, filters => [$cmd] }, key => 'editor');
my ($st, $s) = $d->api(POST => '/api/v1/searches', \%push, key => 'editor');
is($st, 201, 'a push search without filters is fine') or diag explain $s;
($st) = $d->api(PATCH => "/api/v1/searches/$s->{id}",
    { filters => [$cmd], version => $s->{version} }, key => 'editor');
is($st, 422, '... and adding the command by PATCH is refused');
($st) = $d->api(POST => '/api/v1/searches/test',
    { %push, name => 'dry', filters => [$cmd] }, key => 'editor');
is($st, 422, '... and in a dry run');
($st, my $r) = $d->api(POST => "/api/v1/push/$s->{id}",
    [{ content => { host => 'h1' } }]);
is($st, 200, 'one push') or diag explain $r;
ok(!-e "$out/x", 'the command never ran');

my $keep = [{ type => 'script', script => 'triage', args => ['ssh', 'high'],
    timeout => '20s' }];
my $run = dry($keep);
is($run->{state}, 'success', 'script: success') or diag $run->{error};
my @res = sort { $a->{content}{n} <=> $b->{content}{n} } @{$run->{results}};
is(scalar @res, 2, 'the script kept 2 of 5 records');
is_deeply([map { $_->{content}{n} } @res], [1, 3], '... root\'s');
is($res[0]{content}{verdict}, 'ssh:high',
    '... rewritten, with its arguments');
my ($batch) = grep { $_->{action} eq 'batch' } @{$run->{trace} || []};
like($batch && $batch->{reason}, qr/^script kept 2 of 5 records \(exit 0, /,
    'the trace tells the batch') or diag explain $run->{trace};
$run = dry([{ type => 'script', script => 'alias', args => ['a', 'b'] }]);
is(scalar @{$run->{results}}, 2, 'a symlink inside script_dir runs');

# What the program sees.
$run = dry([{ type => 'script', script => 'whoami' }]);
my $who = $run->{results}[0]{content} // {};
is($who->{env}, 'FOUR11_DRY_RUN,FOUR11_FROM,FOUR11_SEARCH_ID,FOUR11_TO,LANG,PATH',
    'a scrubbed environment: PATH, LANG and FOUR11_* only')
    or diag explain $run;
is($who->{cwd}, $sdir, '... working in script_dir');
SKIP: {
	skip 'not root: scripts run as 411d\'s user', 3 unless $> == 0;
	my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
	is($who->{uid}, $uid, "as root: the script runs as nobody ($uid)");
	is($who->{euid}, $uid, '... effective uid too');
	is($who->{gid}, $gid, '... and its group');
}

# Failures follow on_error and show as warnings.
$run = dry([{ type => 'script', script => 'fail' }]);
is($run->{state}, 'success', 'exit 3, on_error keep: the run succeeds');
is(scalar @{$run->{results}}, 5, '... every record kept');
like(join(' ', @{$run->{warnings} || []}),
    qr/filters\[0\] \(script\): exited with status 3: boom/,
    '... a warning with the status and stderr') or diag explain $run;
$run = dry([{ type => 'script', script => 'fail', on_error => 'drop' }]);
is(scalar @{$run->{results}}, 0, 'exit 3, on_error drop: nothing kept');
$run = dry([{ type => 'script', script => 'missing' }]);
like(join(' ', @{$run->{warnings} || []}),
    qr/cannot run: "missing": no such file in script_dir/,
    'a missing program: a warning') or diag explain $run;
my $t0 = time;
$run = dry([{ type => 'script', script => 'slow', timeout => '1s' }]);
like(join(' ', @{$run->{warnings} || []}), qr/timed out after 1s/,
    'a slow program: killed at its time limit') or diag explain $run;
ok(time - $t0 < 30, 'the run did not wait for the program');
is(scalar @{$run->{results}}, 5, '... records kept');
$run = dry([{ type => 'script', script => 'busy', max_cpu => '1s',
    timeout => '5m' }]);
like(join(' ', @{$run->{warnings} || []}),
    qr/killed: over its CPU time limit \(max_cpu 1000ms\)/,
    'a busy loop: killed at its CPU limit') or diag explain $run;
is(scalar @{$run->{results}}, 5, '... records kept');
my ($hst) = $d->api(GET => '/api/v1/searches');
is($hst, 200, 'the daemon still answers');

# Names, not paths.
refused([{ type => 'script', script => '/bin/sh' }], 'filters[0].script',
    qr/^script: must be a plain file name, not a path/, 'an absolute path');
refused([{ type => 'script', script => '../outside/evil' }],
    'filters[0].script', qr/^script: must be a plain file name/,
    'a path with ..');
refused([{ type => 'script', script => '..' }], 'filters[0].script',
    qr/^script: must not start with '\.'/, '".."');
refused([{ type => 'script', script => 'sub/triage' }], 'filters[0].script',
    qr/not a path/, 'a name with /');
refused([{ type => 'script', script => 'escape' }], 'filters[0].script',
    qr/^script: "escape" leads outside script_dir/,
    'a symlink leaving script_dir');
refused([{ type => 'script', script => 'triage', env => { A => 'b' } }],
    'filters[0].env', qr/^script: is no longer accepted/, 'env');
refused([{ type => 'script', script => 'triage', timeout => '1h' }],
    'filters[0].timeout', qr/at most 5m/, 'a time limit over 5m');
ok(!-e "$out/evil.ran", 'the program outside script_dir never ran');

# A stored search: the alerts are what the script returned.
($st, $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
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

# The operator takes script_dir away (SIGHUP): scripts are refused, and
# the stored search fails at its run, saying why.
$d->{conf} = '';
$d->write_conf;
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($pos) =~ /reloaded/ }, 30),
    'reloaded without script_dir');
refused([{ type => 'script', script => 'triage' }], 'filters[0].script',
    qr/^script: script_dir is not set in 411d\.conf/, 'no script_dir');
($st, $run) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
like(join(' ', @{$run->{warnings} || []}, $run->{error} // ''),
    qr/script_dir is not set/, '... the stored search: a warning')
    or diag explain $run;
is($run->{alerts}, 5, '... its records kept (on_error keep)');

# Restarted without script_dir: the stored search is still there (loaded
# without the config checks) and fails at its runs, saying why.
$d->stop;
$d->start(keep_conf => 1);
($st, my $again) = $d->api(GET => "/api/v1/searches/$s->{id}");
is($st, 200, 'after a restart without script_dir the search is still there')
    or diag explain $again;
like($d->log_since(0), qr/search $s->{id}: filters\[0\]\.script: script: script_dir is not set/,
    '... with a warning at start');
($st, $run) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
like(join(' ', @{$run->{warnings} || []}), qr/script_dir is not set/,
    '... and its runs say why') or diag explain $run;

$d->stop;
like($d->log, qr/stopped/, '411d stopped cleanly');
done_testing();
