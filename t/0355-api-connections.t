#!/usr/bin/perl
# 0355-api-connections.t -- slow clients do not hold the API (issue 11,
# defect 4): a deadline for a whole request (api_request_timeout), at most
# api_max_connections open (the rest closed at once, counted), the
# listener paused after EMFILE instead of spinning, repeated log lines
# summed up.  Also the API items of 10: a repeated query parameter, "//"
# in paths, what /healthz tells without a key.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(time sleep);
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no prlimit(1)' unless -x '/usr/bin/prlimit';
$SIG{PIPE} = 'IGNORE';

my $NCONN = 300;
my $d = Test411->new(conf => join("\n",
    'api_max_connections 50',
    'api_request_timeout 3s'));

# 411d under an open-file limit of 256 (it raises its soft limit to the
# hard one at start-up, so both are set, once it runs).
my ($soft) = `sh -c 'ulimit -n'` =~ /(\d+)/;
plan skip_all => "our open-file limit ($soft) is too small"
    if defined $soft && $soft < $NCONN + 100;
$d->start;
my $dpid = $d->daemon_pid;
system('prlimit', '--pid', $dpid, '--nofile=256:256') == 0 or die 'prlimit';
my $limits = do { local (@ARGV, $/) = ("/proc/$dpid/limits"); <> };
like($limits, qr/^Max open files\s+256\s/m, '411d runs with 256 files');

# A raw connection, or undef.
sub conn {
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $d->port, Proto => 'tcp', Timeout => 5);
}

# GET /healthz on a fresh connection: the status, or 0.
sub healthz_once {
	my $h = HTTP::Tiny->new(timeout => 3, keep_alive => 0);
	my $r = $h->get($d->url . '/healthz');
	return $r->{status} == 200 ? 1 : 0;
}

# Non-blocking read: 1 at EOF or an error, 0 when nothing (yet).
sub closed {
	my ($s) = @_;
	my $buf;
	my $n = sysread($s, $buf, 4096);
	return 1 if defined $n && $n == 0;
	return 0 if !defined $n && ($! == EAGAIN || $! == EWOULDBLOCK ||
	    $! == EINTR);
	return 1 if !defined $n;
	return 0;	# data (an answer?): not closed yet
}

# 1. 300 clients trickle a request, one byte a second.
my $req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('a' x 100);
my (@socks, %pos, %gone, $unconnected);
$unconnected = 0;
for my $i (1 .. $NCONN) {
	my $s = conn();
	if (!$s) { $unconnected++; next }
	$s->blocking(0);
	push @socks, $s;
	$pos{$s} = 0;
}
diag("$unconnected connections were not made") if $unconnected;
my $start = time;
my $healthz_ok = 0;
my $last_trickle = 0;
while (time - $start < 20 && keys(%gone) < @socks) {
	if (time - $last_trickle >= 1) {
		$last_trickle = time;
		for my $s (@socks) {
			next if $gone{$s};
			my $c = substr($req, $pos{$s}++ % length($req), 1);
			$gone{$s} = time - $start
			    unless defined syswrite($s, $c);
		}
	}
	for my $s (IO::Select->new(grep { !$gone{$_} } @socks)->can_read(0.2)) {
		$gone{$s} = time - $start if closed($s);
	}
	$healthz_ok ||= healthz_once() if time - $start > 1;
}
is(scalar(keys %gone), scalar(@socks),
    'every trickling connection is closed (the refused at once, the '
    . 'rest past api_request_timeout)');
my @late = grep { $_ > 15 } values %gone;
is(scalar(@late), 0, 'none later than 15 s (deadline 3 s)');
$healthz_ok ||= $d->wait_for(\&healthz_once, 20);
ok($healthz_ok, '/healthz answers on a fresh connection meanwhile');
close($_) for @socks;

# Each trickling connection was either refused (over 50 open) or timed
# out (on a slow machine slots free up while the 300 still connect).
my $refused = $d->metric('four11_api_connections_refused_total') // -1;
my $timedout = $d->metric('four11_api_request_timeouts_total') // -1;
cmp_ok($refused, '>', 0,
    "four11_api_connections_refused_total counts the extra ($refused)");
cmp_ok($timedout, '>', 0,
    "four11_api_request_timeouts_total counts the slow ($timedout)");
cmp_ok($refused + $timedout, '>=', @socks - 5,
    'every trickling connection was one or the other');
ok($d->wait_for(sub {
	($d->metric('four11_api_connections') // 99) <= 1 }, 20),
    'four11_api_connections comes back to (at most) the scrape itself');

my $log = $d->log;
cmp_ok(length($log), '<', 64 * 1024, 'the log stays small: '
    . length($log) . ' bytes');
my $n_ref = () = $log =~ /api_max_connections\): closing a new one/g;
cmp_ok($n_ref, '<=', 30, "refusals logged $n_ref times, not $refused");
ok($log =~ /message repeated \d+ more times in \d+s: api: \d+ connections open/,
    'the rest are summed up: "message repeated N more times"');

# 2. EMFILE: the limit drops under 411d's feet; accept() fails.  The
# listener pauses instead of spinning and logging each failure.
my $logpos = -s $d->logfile;
opendir(my $dh, "/proc/$dpid/fd") or die;
my $nfd = grep { /^\d+$/ } readdir($dh);
closedir($dh);
system('prlimit', '--pid', $dpid, '--nofile=' . ($nfd + 3) . ':') == 0
    or die 'prlimit';
my @idle;
for (1 .. 20) {
	my $s = conn() or last;
	push @idle, $s;
}
ok($d->wait_for(sub {
	($d->log_since($logpos) =~ /accept: Too many open files; not accepting/)
    }, 10), 'EMFILE: the listener pauses (logged)');
sleep(2);
my $emfile_log = $d->log_since($logpos);
my $n_acc = () = $emfile_log =~ /accept: Too many open files/g;
cmp_ok($n_acc, '<=', 25, "... logged $n_acc times in 2 s, not millions");
cmp_ok(length($emfile_log), '<', 16 * 1024, '... the log stays small');
ok($emfile_log !~ /libevent: .*accept/, '... libevent logs no accept error');
close($_) for @idle;
system('prlimit', '--pid', $dpid, '--nofile=256:') == 0 or die 'prlimit';
ok($d->wait_for(\&healthz_once, 20),
    '/healthz answers again once files are free (the listener resumed)');
cmp_ok($d->metric('four11_api_accept_pauses_total') // 0, '>', 0,
    'four11_api_accept_pauses_total counts the pauses');

# 3. A keep-alive client that sends whole requests is not cut by the
# request deadline: each request has its own, and none runs between them
# (the idle time is api_timeout's).
{
	my $s = conn() or die 'connect';
	my $ok = 0;
	for my $i (1 .. 3) {
		print $s "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
		my ($head, $len, $body) = ('', 0, '');
		while (defined(my $l = <$s>)) {
			$head .= $l;
			$len = $1 if $l =~ /^Content-Length:\s*(\d+)/i;
			last if $l eq "\r\n";
		}
		read($s, $body, $len) if $len;
		$ok++ if $head =~ /^HTTP\/1\.1 200/ && $body =~ /"status"/;
		sleep($i == 1 ? 4 : 1) if $i < 3;
	}
	close($s);
	is($ok, 3, 'keep-alive: three requests over 5 s on one connection, '
	    . 'idle 4 s between two (api_request_timeout 3s)');
}

# 4. Query parameters given twice, "//" in paths, /healthz without a key.
my ($st, $j);
($st, $j) = $d->api(GET => '/api/v1/alerts?state=new&state=resolved');
is($st, 200, 'alerts: state twice means either (200)');
($st, $j) = $d->api(GET => '/api/v1/alerts?limit=5&limit=6');
is($st, 400, 'alerts: limit twice is refused');
is($j->{error}{field}, 'limit', '... naming the parameter');
like($j->{error}{message}, qr/limit.*more than once/, '... saying why');
($st, $j) = $d->api(GET => '/api/v1/searches?type=es&type=push');
is($st, 400, 'searches: type twice is refused');
is($j->{error}{field}, 'type', '... naming it');
($st, $j) = $d->api(GET => '/api/v1/silences?state=active&state=expired');
is($st, 400, 'silences: state twice is refused');
($st, $j) = $d->api(GET => '//api/v1/alerts');
is($st, 200, 'GET //api/v1/alerts: repeated slashes are one');
($st, $j) = $d->api(GET => '/api//v1///alerts/');
is($st, 200, 'GET /api//v1///alerts/ too');
($st, $j) = $d->api(GET => '//api/v1/alerts?limit=5&limit=6');
is($st, 400, '... with its query string read');
($st, $j) = $d->api(GET => '//api/v1/nothing');
is($st, 404, 'an unknown path is 404');
like($j->{error}{message}, qr{/api/v1/nothing}, '... naming the path');
($st, $j) = $d->api(GET => '//healthz', undef, key => undef);
is($st, 200, '//healthz');

# /healthz without a key: states, no error texts (redis is down here).
($st, $j) = $d->api(GET => '/healthz', undef, key => undef);
is($st, 200, '/healthz without a key');
is($j->{redis}, 'down', '... says redis is down');
ok(exists $j->{outbox} && exists $j->{status}, '... status and outbox');
ok(!exists $j->{redis_error}, '... but not the redis error text')
    or diag explain $j;
ok(!exists $j->{store}{error} && !exists $j->{lists} && !exists $j->{version},
    '... nor store errors, lists, version');
($st, $j) = $d->api(GET => '/healthz', undef, key => 'viewer');
is($st, 200, '/healthz with a viewer key');
ok(defined $j->{redis_error} && length $j->{redis_error},
    '... tells the redis error') or diag explain $j;
ok(exists $j->{lists} && exists $j->{version}, '... and the rest');
($st, $j) = $d->api(GET => '/healthz', undef, key => 'not-a-key-0123456789');
ok($st == 200 && !exists $j->{redis_error},
    '/healthz with an unknown key: as without one');

$d->stop;

# api_max_connections is clamped under the open-file limit (logged).
{
	my $d2 = Test411->new;
	$d2->write_conf;
	my $conf = $d2->conffile;
	my $logf = $d2->logfile;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDOUT, '>>', $logf) or die;
		open(STDERR, '>>', $logf) or die;
		exec('sh', '-c', "ulimit -n 200 && exec $bin -d -c $conf");
		exit(127);
	}
	ok($d2->wait_for(sub { $d2->log =~ /ready api=/ }, 30), '411d with '
	    . 'ulimit -n 200 and the default api_max_connections starts');
	ok($d2->log =~ /api_max_connections 512 is more than the open-file limit \(200\) allows: using 136/,
	    '... and says it takes 136 connections at most');
	kill('TERM', $pid);
	waitpid($pid, 0);
}

done_testing();
