#!/usr/bin/perl
# 0480-graphite.t -- the graphite search type against a real, private
# Debian carbon-cache and graphite-web: "above" and "below" alert once per
# series that crosses, on its last non-null point (trailing null buckets
# skipped); graphite's 1e9999 and -1e9999 become "+Inf" and "-Inf"; a
# wildcard alerts only the crossing series; functions with commas and
# quotes are URL-encoded; an unknown metric gives no alert; a bad
# function fails the run in graphite's words; graphite down fails and is
# retried.  A small fake responder covers what graphite will not send
# (a 200 that is not JSON, an object, a 503) and the window's from/until.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep time);
use Test411;
use TestGraphite;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
if (my $why = TestGraphite::missing()) {
	plan skip_all => $why;
}

my $J = JSON::PP->new->canonical;
my $tmp = tempdir('411-gfake-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{T_KEEP});

sub freeport {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => 0, Proto => 'tcp') or die "bind: $!";
	my $p = $s->sockport;
	close($s);
	return $p;
}

# The fake: answers each request with the next of the responses in
# $tmp/responses (the last one repeats), and logs the request line.
my $fgen = 0;
sub responses {
	my (@r) = @_;
	$fgen++;
	open(my $fh, '>', "$tmp/responses.new") or die "write: $!";
	print $fh $J->encode({ gen => $fgen, responses => \@r });
	close($fh);
	rename("$tmp/responses.new", "$tmp/responses") or die "rename: $!";
}
sub requests {
	open(my $fh, '<', "$tmp/requests") or return ();
	return map { chomp; $_ } <$fh>;
}
responses({ status => 200, type => 'application/json', body => '[]' });
my $fsock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp', Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $fport = $fsock->sockport;
my $fpid = fork();
die "fork: $!" unless defined $fpid;
if ($fpid == 0) {
	my ($gen, $n) = (0, 0);
	while (my $c = $fsock->accept) {
		my $line = <$c> // '';
		$line =~ s/\r?\n$//;
		while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
		if (open(my $lf, '>>', "$tmp/requests")) {
			print $lf "$line\n";
			close($lf);
		}
		my $all = eval {
			open(my $fh, '<', "$tmp/responses") or die;
			local $/;
			$J->decode(<$fh>);
		} // { gen => 0, responses => [{ status => 500,
		    type => 'text/plain', body => 'fake: no responses' }] };
		($gen, $n) = ($all->{gen}, 0) if $all->{gen} != $gen;
		my @r = @{$all->{responses}};
		my $r = $r[$n < $#r ? $n : $#r];
		$n++;
		print $c "HTTP/1.1 $r->{status} X\r\nContent-Type: $r->{type}\r\n"
		    . "Content-Length: " . length($r->{body}) . "\r\n"
		    . "Connection: close\r\n\r\n$r->{body}";
		close($c);
	}
	POSIX::_exit(0);
}
close($fsock);
END {
	local ($?, $!, $@);
	if ($fpid) { kill('TERM', $fpid); waitpid($fpid, 0) }
}

my $g = eval { TestGraphite->new };
BAIL_OUT("graphite did not start: $@") unless $g;
pass('carbon-cache and graphite-web started');

my $downport = freeport();
my $d = Test411->new(sources => join("\n",
    'source gr graphite ' . $g->url,
    "source down graphite http://127.0.0.1:$downport timeout 5s",
    "source fake graphite http://127.0.0.1:$fport",
    'source prom prometheus http://127.0.0.1:9'));
$d->start;

# The data: three servers, a metric whose newest minute is empty, one at
# +inf, one at -inf, and one with no point in a 5 minute window.
my $now = int(time);
$g->send(['servers.web1.load', 1, $now - 3], ['servers.web1.load', 2, $now - 2],
    ['servers.web1.load', 9.5, $now - 1],
    ['servers.web2.load', 1.5, $now - 2],
    ['servers.web3.load', 0.25, $now - 1],
    ['t.trailing', 5, $now - 31], ['t.trailing', 7, $now - 30],
    ['t.inf', 'inf', $now - 2], ['t.ninf', '-inf', $now - 2],
    ['t.old', 3, $now - 1200]);
for my $m (['servers.web1.load', 9.5], ['servers.web2.load', 1.5],
    ['servers.web3.load', 0.25], ['t.trailing', 7], ['t.inf', 9**9**9],
    ['t.ninf', -9**9**9]) {
	ok($g->wait_visible(@$m, 60), "$m->[0] is visible in graphite")
	    or diag $g->logs;
}
ok($g->wait_visible('t.old', 3, 60, '-1h'), 't.old is written, 20 minutes ago')
    or diag $g->logs;
# graphite really sends 1e9999: the reason for the driver's own parsing
my $raw = HTTP::Tiny->new->get($g->url .
    '/render?target=t.inf&format=json&from=-5min')->{content} // '';
like($raw, qr/\[1e9999, \d+\]/, 'graphite writes +inf as 1e9999');

my $defs = 0;
sub def {
	my (%o) = @_;
	return { name => 'graphite check ' . ++$defs, type => 'graphite', source => 'gr',
	    schedule => { every => '1h' }, range => '5m',
	    enabled => JSON::PP::false, %o };
}

# Create a search, run it by hand, give the run's answer.
sub run_def {
	my ($what, %o) = @_;
	my ($st, $s) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 201, "$what: created") or do { diag explain $s; return {} };
	my ($rst, $r) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
	is($rst, 200, "$what: run answers") or diag explain $r;
	return $r // {};
}

sub refused {
	my ($what, $field, $re, %o) = @_;
	my ($st, $j) = $d->api(POST => '/api/v1/searches', def(%o));
	is($st, 422, "$what: 422");
	is($j->{error}{field}, $field, "$what: naming $field")
	    or diag explain $j;
	like($j->{error}{message} // '', $re, "$what: saying why")
	    if $re;
}

sub contents {
	my ($r) = @_;
	return sort { $a->{target} cmp $b->{target} }
	    map { $_->{content} } @{$r->{results} // []};
}

sub iso {
	my @t = gmtime($_[0]);
	return sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900,
	    $t[4] + 1, @t[3, 2, 1, 0]);
}

# above: one alert, the crossing series, on its last value.
my $r = run_def('above', query => 'servers.web1.load', above => 5);
is($r->{state}, 'success', 'above: the run succeeded') or diag explain $r;
is($r->{alerts}, 1, 'above: one alert') or diag explain $r;
my ($c) = contents($r);
is($c->{target}, 'servers.web1.load', '... the series as target');
is($c->{value}, 9.5, '... its last value 9.5 (not the earlier 1 or 2)');
is($c->{time}, iso($now - 1), '... at the time of that point');
is($c->{'tags.name'}, 'servers.web1.load', '... with its tags');
$r = run_def('above, not crossed', query => 'servers.web1.load', above => 10);
is($r->{state}, 'success', 'above 10: the run succeeded');
is($r->{alerts}, 0, 'above 10: no alert') or diag explain $r;

# below.
$r = run_def('below', query => 'servers.web3.load', below => 0.5);
is($r->{alerts}, 1, 'below: one alert') or diag explain $r;
is((contents($r))[0]{value}, 0.25, '... value 0.25');

# A wildcard: only the crossing series alert, one each.
$r = run_def('wildcard above', query => 'servers.*.load', above => 1.2);
is($r->{alerts}, 2, 'servers.*.load above 1.2: two alerts')
    or diag explain $r;
is_deeply([map { $_->{target} } contents($r)],
    ['servers.web1.load', 'servers.web2.load'], '... web1 and web2');
is_deeply([map { $_->{value} } contents($r)], [9.5, 1.5], '... 9.5 and 1.5');
$r = run_def('wildcard both', query => 'servers.*.load', above => 5,
    below => 0.5);
is_deeply([map { $_->{target} } contents($r)],
    ['servers.web1.load', 'servers.web3.load'],
    'above 5 or below 0.5: web1 and web3') or diag explain $r;

# No threshold: every series with a value is a record.
$r = run_def('no threshold', query => 'servers.*.load');
is($r->{alerts}, 3, 'no above/below: one alert per series')
    or diag explain $r;
$r = run_def('count', query => 'servers.*.load', above => 1.2,
    result => 'count', threshold => [2, undef]);
is($r->{alerts}, 1, 'result count over crossing series: one alert')
    or diag explain $r;
is($r->{results}[0]{content}{count}, 2, '... counting two')
    or diag explain $r;

# Trailing nulls: the last non-null point counts.
$r = run_def('trailing nulls', query => 't.trailing', above => 6);
is($r->{alerts}, 1, 'trailing null buckets: one alert') or diag explain $r;
($c) = contents($r);
is($c->{value}, 7, '... with the last non-null value');
is($c->{time}, iso($now - 30), '... and its time');

# Infinities.
$r = run_def('inf', query => 't.inf', above => 1e300);
is($r->{state}, 'success', '1e9999: the run succeeded') or diag explain $r;
is($r->{alerts}, 1, '1e9999 above 1e300: one alert') or diag explain $r;
is((contents($r))[0]{value}, '+Inf', '... value "+Inf"');
$r = run_def('-inf', query => 't.ninf', below => -1e300);
is($r->{alerts}, 1, '-1e9999 below -1e300: one alert') or diag explain $r;
is((contents($r))[0]{value}, '-Inf', '... value "-Inf"');
$r = run_def('inf not below', query => 't.inf', below => 0);
is($r->{alerts}, 0, '+inf is not below 0') or diag explain $r;

# Functions: commas, parentheses and quotes go through.
# (keepLastValue: the three were sent at different seconds)
$r = run_def('sumSeries', query =>
    'sumSeries(keepLastValue(servers.*.load))', above => 11);
is($r->{alerts}, 1, 'sumSeries(keepLastValue(...)) above 11: one alert') or diag explain $r;
($c) = contents($r);
like($c->{target} // '', qr/^sumSeries\(keepLastValue\(servers\.web1\.load\),/,
    '... named by graphite');
ok(abs(($c->{value} // 0) - 11.25) < 1e-9, '... 9.5 + 1.5 + 0.25')
    or diag explain $c;
$r = run_def('aliasByNode', query => 'aliasByNode(servers.*.load, 1)',
    below => 2);
is_deeply([map { $_->{target} } contents($r)], ['web2', 'web3'],
    'aliasByNode(servers.*.load, 1) below 2: web2 and web3')
    or diag explain $r;
$r = run_def('alias', query => 'alias(servers.web1.load, "front & back")',
    above => 0);
is((contents($r))[0]{target}, 'front & back', 'alias with quotes and &')
    or diag explain $r;

# A series without points in the window: no record, a warning.
$r = run_def('no datapoints', query => 't.{old,trailing}');
is($r->{state}, 'success', 'a series of nulls: the run succeeded')
    or diag explain $r;
is_deeply([map { $_->{target} } contents($r)], ['t.trailing'],
    '... only the series with a value') or diag explain $r;
like(join(' ', @{$r->{warnings} // []}), qr/1 of 2 series had no datapoints/,
    '... and a warning counting the other') or diag explain $r;

# An unknown metric: [] is no alert, not an error.
$r = run_def('unknown', query => 'no.such.metric', above => 0);
is($r->{state}, 'success', 'unknown metric: the run succeeded')
    or diag explain $r;
is($r->{alerts}, 0, 'unknown metric: no alert');

# A bad function: failed, in graphite's words.
$r = run_def('bad function', query => 'nosuchfunction(servers.*.load)');
is($r->{state}, 'failed', 'bad function: the run failed') or diag explain $r;
like($r->{error} // '', qr/^graphite gr: HTTP 400: .*unknown function: nosuchfunction/,
    '... with the status and graphite\'s text') or diag explain $r;

# Graphite down: failed, and (scheduled) retried soon.
$r = run_def('down', source => 'down', query => 'x', above => 1);
is($r->{state}, 'failed', 'graphite down: the run failed') or diag explain $r;
like($r->{error} // '', qr/^graphite down: /, '... naming the source');
my ($st, $s) = $d->api(POST => '/api/v1/searches', def(name => 'down sched',
    source => 'down', query => 'x', enabled => JSON::PP::true));
is($st, 201, 'a scheduled search on graphite down');
my $failed = $d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$s->{id}/jobs");
	my @f = grep { $_->{state} eq 'failed' } @{$l->{items} // []};
	return @f >= 2 ? \@f : undef;
}, 60);
ok($failed, 'graphite down is retryable: retried within a minute, not an '
    . 'hour later');
$d->api(DELETE => "/api/v1/searches/$s->{id}");

# The fake: the window, and answers graphite would not give.
responses({ status => 200, type => 'application/json', body =>
    '[{"target":"a.b","datapoints":[[3,1700000000],[1e9999,1700000060],'
    . '[null,1700000120]]}]' });
unlink("$tmp/requests");
$r = run_def('fake inf', source => 'fake', query => 'a.{b,c}', above => 4);
is($r->{alerts}, 1, 'fake 1e9999 then null: one alert') or diag explain $r;
($c) = contents($r);
is($c->{value}, '+Inf', '... "+Inf"');
is($c->{time}, '2023-11-14T22:14:20Z', '... at the time of the 1e9999 point');
ok(!exists $c->{'tags.name'}, '... no tags when graphite sends none');
my ($req) = requests();
like($req // '', qr{^GET /render\?target=a\.%7Bb%2Cc%7D&format=json&from=(\d+)&until=(\d+) },
    'the request: encoded target, format=json, from and until')
    or diag $req;
if (($req // '') =~ /from=(\d+)&until=(\d+)/) {
	is($2 - $1, 300, '... a window of range 5m');
	ok(abs($2 - time) < 120, '... ending now');
}

responses({ status => 200, type => 'text/html',
    body => "<html><body>\n<h1>Please log in</h1></body></html>" });
$r = run_def('fake html', source => 'fake', query => 'a.b');
is($r->{state}, 'failed', '200 text/html: failed') or diag explain $r;
like($r->{error} // '', qr/not JSON \(Content-Type text\/html\): Please log in/,
    '... saying so, with its text') or diag explain $r;

responses({ status => 200, type => 'application/json',
    body => '{"error":"nope"}' });
$r = run_def('fake object', source => 'fake', query => 'a.b');
is($r->{state}, 'failed', '200 JSON object: failed') or diag explain $r;
like($r->{error} // '', qr/not a JSON array of series/, '... saying so')
    or diag explain $r;

responses({ status => 200, type => 'application/json',
    body => '[{"target":"a","datapoints":[[1,2' });
$r = run_def('fake truncated', source => 'fake', query => 'a.b');
is($r->{state}, 'failed', 'truncated JSON: failed') or diag explain $r;
like($r->{error} // '', qr/not valid JSON/, '... saying so')
    or diag explain $r;

responses({ status => 200, type => 'application/json',
    body => '[{"target":"a","datapoints":[1,2]}]' });
$r = run_def('fake points', source => 'fake', query => 'a.b');
is($r->{state}, 'failed', 'datapoints not pairs: failed') or diag explain $r;
like($r->{error} // '', qr/\[\[value, time\]/, '... saying so')
    or diag explain $r;

responses({ status => 500, type => 'text/html', body =>
    "\n\n<h1>Server Error (500)</h1>\n<p>more</p>" });
$r = run_def('fake 500', source => 'fake', query => 'a.b');
is($r->{error}, 'graphite fake: HTTP 500: Server Error (500)',
    '500: the first line of its text') or diag explain $r;

# 503 then a good answer: scheduled, retried, and then it succeeds.
responses({ status => 503, type => 'text/plain', body => 'busy' },
    { status => 200, type => 'application/json', body => '[]' });
($st, $s) = $d->api(POST => '/api/v1/searches', def(name => 'flaky',
    source => 'fake', query => 'a.b', enabled => JSON::PP::true));
is($st, 201, 'a scheduled search on a graphite answering 503 once');
my $jobs = $d->wait_for(sub {
	my (undef, $l) = $d->api(GET => "/api/v1/searches/$s->{id}/jobs");
	my @j = @{$l->{items} // []};
	return (grep { $_->{state} eq 'success' } @j) ? \@j : undef;
}, 60);
ok($jobs, '503 is retried and the retry succeeds') or diag explain $jobs;
ok((grep { ($_->{error} // '') =~ /HTTP 503: busy/ } @{$jobs // []}),
    '... after a failed job with the 503');
$d->api(DELETE => "/api/v1/searches/$s->{id}");

# Validation.
refused('no query', 'query', qr/required/, query => undef);
refused('empty query', 'query', qr/empty/, query => '');
refused('above a string', 'above', qr/must be a number/, query => 'a',
    above => '5');
refused('below a bool', 'below', qr/must be a number/, query => 'a',
    below => JSON::PP::true);
refused('no such source', 'source', qr/no source/, source => 'nosuch',
    query => 'a');
refused('prometheus source', 'source', qr/not graphite/, source => 'prom',
    query => 'a');
refused('foreign key', 'index', qr/does not apply to type graphite/,
    query => 'a', index => 'x');
refused('foreign url', 'url', undef, query => 'a', url => 'http://x/');
my ($pst, $pj) = $d->api(POST => '/api/v1/searches', { name => 'p',
    type => 'prometheus', source => 'prom', query => 'up', above => 1,
    enabled => JSON::PP::false });
is($pst, 422, 'above on a prometheus search: 422');
is($pj->{error}{field}, 'above', '... naming above') or diag explain $pj;

$d->stop;
$g->stop;
done_testing();
