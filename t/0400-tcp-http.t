#!/usr/bin/perl
# 0400-tcp-http.t -- the tcp and http search types against loopback peers:
# a tcp connect that works makes no alert, a refused one makes one naming
# the error; an http check makes one alert naming every failed check
# (status, body pattern, latency, a failed request) and none when all
# pass; bad definitions are refused naming the field.  An https check's
# ca_file is a name in certs_dir (t/0405 tests that boundary).
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;

# A tiny HTTP responder in a child: /ok, /slow (2s late), anything else 404.
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $hport = $srv->sockport;
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0) {
	local $SIG{ALRM} = sub { POSIX::_exit(0) };
	alarm(300);
	while (my $c = $srv->accept) {
		my $line = <$c> // '';
		while (my $h = <$c>) {
			last if $h =~ /^\r?\n$/;
		}
		my ($path) = $line =~ m{^\w+ (\S+)};
		$path //= '/';
		my ($code, $body) = (404, "no such page\n");
		if ($path eq '/ok' || $path eq '/slow') {
			sleep(2) if $path eq '/slow';
			($code, $body) = (200, "<html>service status=green</html>\n");
		}
		print $c "HTTP/1.1 $code X\r\nContent-Type: text/html\r\n" .
		    "Content-Length: " . length($body) . "\r\n" .
		    "Connection: close\r\n\r\n$body";
		close($c);
	}
	POSIX::_exit(0);
}
close($srv);

# A listening port, and one that is certainly closed.
my $open = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $oport = $open->sockport;
my $tmp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp') or die "bind: $!";
my $cport = $tmp->sockport;
close($tmp);

my $certs = tempdir('411-certs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $d = Test411->new(conf => "certs_dir $certs");
$d->start;

my $defs = 0;
sub def {
	my (%o) = @_;
	return { name => "check " . ++$defs, schedule => { every => '1h' },
	    enabled => JSON::PP::false, %o };
}

# Create a search, run it by hand, give the run's answer.
sub run_def {
	my ($what, %o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 201, "$what: created") or do { diag explain $s; return {} };
	my ($rst, $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
	is($rst, 200, "$what: run answers") or diag explain $r;
	is($r->{state}, 'success', "$what: the run succeeded")
	    or diag $r->{error};
	return $r;
}

sub refused {
	my ($what, $field, %o) = @_;
	my ($st, $j) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 422, "$what: 422");
	is($j->{error}{field}, $field, "$what: naming $field")
	    or diag explain $j;
	return $j;
}

# tcp
my $r = run_def('tcp open', type => 'tcp', host => '127.0.0.1',
    port => $oport, timeout => '5s');
is($r->{alerts}, 0, 'tcp to a listening port: no alert');

$r = run_def('tcp closed', type => 'tcp', host => 'localhost',
    port => $cport);
is($r->{alerts}, 1, 'tcp to a closed port: one alert');
my $c = $r->{results}[0]{content} // {};
like($c->{error}, qr/port $cport failed: Connection refused/,
    '... naming the error') or diag explain $r;
is($c->{port}, $cport, '... and the port');
is($c->{host}, 'localhost', '... and the host');
ok(defined $c->{ok} && !$c->{ok}, '... ok is false');
like($c->{connect_ms}, qr/^\d+$/, '... with connect_ms');

refused('tcp port 0', 'port', type => 'tcp', host => '127.0.0.1', port => 0);
refused('tcp port 70000', 'port', type => 'tcp', host => '127.0.0.1',
    port => 70000);
refused('tcp without port', 'port', type => 'tcp', host => '127.0.0.1');
refused('tcp host name', 'host', type => 'tcp', host => 'example.com',
    port => 80);
refused('tcp with source', 'source', type => 'tcp', host => '127.0.0.1',
    port => 80, source => 'logs');

# http
my $base = "http://127.0.0.1:$hport";
$r = run_def('http all good', type => 'http', url => "$base/ok",
    expect_status => 200, match => 'status=gr[e]+n');
is($r->{alerts}, 0, 'http: status and pattern as expected: no alert')
    or diag explain $r;

$r = run_def('http default status', type => 'http', url => "$base/ok");
is($r->{alerts}, 0, 'http: a 200 passes the default expectation');

$r = run_def('http status', type => 'http', url => "$base/nothing",
    expect_status => [200, 204]);
is($r->{alerts}, 1, 'http: a 404 gives one alert');
$c = $r->{results}[0]{content} // {};
like($c->{error}, qr/status 404, expected 200 or 204/, '... naming it')
    or diag explain $r;
is($c->{url}, "$base/nothing", '... with the url');
is($c->{status}, 404, '... and the status');

$r = run_def('http regex miss', type => 'http', url => "$base/ok",
    match => 'status=red');
is($r->{alerts}, 1, 'http: a pattern not found gives one alert');
like($r->{results}[0]{content}{error} // '', qr{does not match /status=red/},
    '... naming the pattern') or diag explain $r;

$r = run_def('http two failures', type => 'http', url => "$base/nothing",
    expect_status => 200, match => 'green');
is($r->{alerts}, 1, 'http: two failed checks, still one alert');
is(scalar @{$r->{results}[0]{content}{failed} // []}, 2,
    '... listing both') or diag explain $r;

$r = run_def('http slow', type => 'http', url => "$base/slow",
    max_latency => '1s', timeout => '20s');
is($r->{alerts}, 1, 'http: over the latency ceiling gives one alert');
like($r->{results}[0]{content}{error} // '',
    qr/latency \d+ms is over the maximum of 1000ms/, '... naming it')
    or diag explain $r;

$r = run_def('http down', type => 'http', url => "http://127.0.0.1:$cport/");
is($r->{alerts}, 1, 'http: a refused connection gives one alert');
like($r->{results}[0]{content}{error} // '', qr/^request failed: /,
    '... saying the request failed') or diag explain $r;

my $j = refused('http bad regex', 'match', type => 'http', url => "$base/",
    match => 'a(b');
like($j->{error}{message}, qr/offset 3: missing closing parenthesis/,
    '... with PCRE2\'s message and offset');
refused('http ftp url', 'url', type => 'http', url => 'ftp://127.0.0.1/');
refused('http no url', 'url', type => 'http');
refused('http bad status', 'expect_status', type => 'http', url => "$base/",
    expect_status => 99);
refused('http cert on http', 'cert_expiry_days', type => 'http',
    url => "$base/", cert_expiry_days => 10);
refused('http bad method', 'method', type => 'http', url => "$base/",
    method => 'BREW');
refused('http with port', 'port', type => 'http', url => "$base/",
    port => 80);

# https: the certificate's expiry, against a self-signed one of 5 days
SKIP: {
	skip 'no openssl or python3', 8
	    unless system('openssl version >/dev/null 2>&1') == 0 &&
	    system('python3 -c 1 >/dev/null 2>&1') == 0;
	my $dir = $certs;
	system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/k.pem " .
	    "-out $dir/c.pem -days 5 -subj /CN=127.0.0.1 " .
	    "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1") == 0
	    or skip 'openssl could not make a certificate', 8;
	my $py = <<'PY';
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"secure ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	my $spid = open(my $out, '-|', 'python3', '-c', $py, "$dir/c.pem",
	    "$dir/k.pem") or skip 'python3 would not start', 8;
	my $sport = <$out>;
	chomp($sport) if defined $sport;
	skip 'the https server did not start', 8
	    unless defined $sport && $sport =~ /^\d+$/;
	my $surl = "https://127.0.0.1:$sport/";
	$r = run_def('https cert soon', type => 'http', url => $surl,
	    ca_file => 'c.pem', cert_expiry_days => 30);
	is($r->{alerts}, 1, 'https: a certificate expiring within 30 days '
	    . 'gives one alert');
	like($r->{results}[0]{content}{error} // '',
	    qr/certificate expires in [45] days/, '... naming the days left')
	    or diag explain $r;
	$r = run_def('https cert fine', type => 'http', url => $surl,
	    ca_file => 'c.pem', cert_expiry_days => 2, match => 'secure');
	is($r->{alerts}, 0, 'https: more days left than asked: no alert')
	    or diag explain $r;
	kill('TERM', $spid);
	close($out);
}

is($d->stop, 0, '411d stops cleanly');
kill('TERM', $hpid);
waitpid($hpid, 0);
done_testing;
