#!/usr/bin/perl
# 0520-filter-enrich.t -- end to end: the enrich filter (C7) through 411d
# and the Elasticsearch-compatible fake.  CIDR and map lookups add fields
# (inline tables and files); reverse DNS goes to t/fake/fake_dns.py through
# the "resolver" directive: names are added, a name that is not there or
# comes too late is not, the run still succeeds, and a second run answers
# from the cache without a query.  Table files are names in maps_dir
# (issue 11): a path, "..", a symlink out of maps_dir (to 411d.conf) and
# any file without maps_dir are refused, so a search cannot read 411d.conf
# or /etc/services into alert fields.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Select;
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $tmp = tempdir('411-enrich-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $qlog = "$tmp/queries.txt";
my $maps = "$tmp/maps";
mkdir($maps) or die "$maps: $!";

# The fake name server.
my $srcdir = Test411::srcdir();
my $dns_pid = open(my $dns_fh, '-|', FakeES::python(),
    "$srcdir/t/fake/fake_dns.py", '--port', '0', '--exit-with-parent',
    '--map', '203.0.113.7=host7.example.net',
    '--map', '2001:db8::7=v6.example.net',
    '--delay', '203.0.113.9=30', '--map', '203.0.113.9=late.example.net',
    '--log', $qlog) or die "fake_dns: $!";
my $line = '';
my $sel = IO::Select->new($dns_fh);
while ($sel->can_read(20)) {
	my $n = sysread($dns_fh, my $c, 1);
	last unless $n;
	last if $c eq "\n";
	$line .= $c;
}
my ($dns_port) = $line =~ /^listening 127\.0\.0\.1:(\d+)$/
    or BAIL_OUT("fake_dns.py did not start: $line");
END { kill 'KILL', $dns_pid if $dns_pid }

my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es,
    conf => "resolver 127.0.0.1:$dns_port\nmaps_dir $maps");
$d->start;

my $now = int(time * 1000);
my @ips = ('10.1.2.3', '10.9.0.1', '192.168.1.5', '203.0.113.7',
    '203.0.113.8', '203.0.113.9', '2001:db8::7');
my @users = ('alice', 'bob', 'carol', 'alice', 'dave', 'bob', 'erin');
my @docs;
for my $i (0 .. $#ips) {
	push @docs, { '@timestamp' => $now - 600_000 + $i * 1000,
	    program => 'sshd', n => $i, src_ip => $ips[$i],
	    user => $users[$i] };
}
push @docs, { '@timestamp' => $now - 500_000, program => 'sshd', n => 99 };
$es->docs('logs-2026.11.25', \@docs);

sub by_n {
	my ($run) = @_;
	return { map { ($_->{content}{n} // -1) => $_->{content} }
	    @{$run->{results}} };
}

sub dry {
	my ($filters) = @_;
	my ($st, $run) = $d->api(POST => '/api/v1/searches/test',
	    $d->es_search(range => '1h', filters => $filters));
	is($st, 200, 'dry run answers') or diag explain $run;
	return $run;
}

# CIDR inline and a map file.
open(my $fh, '>', "$maps/teams.txt") or die;
print $fh "# user team\nalice ops\nbob dev team\n";
close($fh);
my $run = dry([
	{ type => 'enrich', field => 'src_ip', target => 'site',
	  cidr => { '10.0.0.0/8' => 'corp', '10.1.2.0/24' => 'lab',
	  '2001:db8::/32' => 'v6net' } },
	{ type => 'enrich', field => 'user', target => 'team',
	  map_file => 'teams.txt' },
]);
is($run->{state}, 'success', 'cidr + map: success') or diag $run->{error};
my $r = by_n($run);
is(scalar keys %$r, 8, 'every record passes');
is($r->{0}{site}, 'lab', '10.1.2.3: the longest prefix (lab)');
is($r->{1}{site}, 'corp', '10.9.0.1: corp');
ok(!exists $r->{2}{site}, '192.168.1.5: no network, no field');
is($r->{6}{site}, 'v6net', '2001:db8::7: IPv6 network');
is($r->{0}{team}, 'ops', 'alice: ops from the map file');
is($r->{1}{team}, 'dev team', 'bob: a value with a space');
ok(!exists $r->{2}{team}, 'carol: not in the map');
ok(!exists $r->{99}{site} && !exists $r->{99}{team},
    'a record without the fields passes unchanged');
my @ch = grep { $_->{action} eq 'changed' } @{$run->{trace} || []};
ok((grep { $_->{reason} eq 'added site=lab' } @ch),
    'the trace tells what was added') or diag explain $run->{trace};

# Bad options and bad files are refused naming the field.
my ($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'enrich', field => 'src_ip', target => 's',
	cidr => { '10.0.0.0/8' => 'a' }, rdns => JSON::PP::true }]));
is($st, 422, 'two lookups refused');
like($e->{error}{message}, qr/^enrich: give only one lookup/,
    "... $e->{error}{message}");
open($fh, '>', "$maps/nets.txt") or die;
print $fh "10.0.0.0/8 corp\nbogus\n";
close($fh);
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'enrich', field => 'src_ip', target => 's',
	cidr_file => 'nets.txt' }]));
is($st, 422, 'a bad cidr_file refused');
is($e->{error}{field}, 'filters[0].cidr_file', '... naming cidr_file');
like($e->{error}{message}, qr/^enrich: nets\.txt:2: /,
    "... and FILE:LINE: $e->{error}{message}");

# Names in maps_dir only: 411d.conf (whose keys would become alert
# fields) and /etc/services cannot be read by a search.
my $conf = $d->conffile;
symlink($conf, "$maps/conf") or die "symlink: $!";
for my $t (["map_file", $conf, qr/^enrich: must be a plain file name, not a path/,
	'411d.conf by its path'],
    ['map_file', '/etc/services', qr/not a path/, '/etc/services'],
    ['cidr_file', '../411d.conf', qr/not a path/, '../411d.conf'],
    ['map_file', '..', qr/must not start with '\.'/, '".."'],
    ['map_file', 'conf', qr/^enrich: "conf" leads outside maps_dir/,
	'a symlink in maps_dir to 411d.conf'],
    ['map_file', 'nothere', undef, 'a name not (yet) in maps_dir']) {
	my ($opt, $v, $re, $what) = @$t;
	($st, $e) = $d->api(POST => '/api/v1/searches/test', $d->es_search(
	    range => '1h', filters => [{ type => 'enrich', field => 'user',
	    target => 'leak', $opt => $v }]), key => 'editor');
	if (!defined $re) {
		is($st, 200, "$what: accepted, fails at run time");
		like(join(' ', @{$e->{warnings} || []}),
		    qr/"nothere": no such file in maps_dir/,
		    '... a warning') or diag explain $e;
		next;
	}
	is($st, 422, "$what: refused") or diag explain $e;
	is($e->{error}{field}, "filters[0].$opt", "... naming $opt");
	like($e->{error}{message} // '', $re, "... $e->{error}{message}");
	unlike($e->{error}{message} // '', qr/key/,
	    '... and nothing of the file in the message');
}

# Reverse DNS: names added, the late one not, the run succeeds.
my $rdns = [{ type => 'enrich', field => 'src_ip', rdns => JSON::PP::true,
    rdns_timeout => '1s' }];
my $t0 = time;
$run = dry($rdns);
my $took = time - $t0;
is($run->{state}, 'success', 'rdns: success') or diag $run->{error};
$r = by_n($run);
is($r->{3}{'src_ip.hostname'}, 'host7.example.net',
    '203.0.113.7: its PTR name added') or diag explain $r->{3};
is($r->{6}{'src_ip.hostname'}, 'v6.example.net',
    '2001:db8::7: IPv6 PTR name added');
ok(!exists $r->{4}{'src_ip.hostname'}, '203.0.113.8: NXDOMAIN, no name');
ok(!exists $r->{5}{'src_ip.hostname'},
    '203.0.113.9: answered too late, no name');
ok(!exists $r->{99}{'src_ip.hostname'}, 'no address, no name');
ok($took < 20, sprintf('the time limit held (%.1fs)', $took));
my ($batch) = grep { $_->{action} eq 'batch' } @{$run->{trace} || []};
like($batch && $batch->{reason}, qr/^enrich added src_ip\.hostname to 2 of 8 /,
    'the trace tells the batch') or diag explain $run->{trace};

sub queries {
	my ($re) = @_;
	open(my $q, '<', $qlog) or return 0;
	my $n = grep { /$re/ } <$q>;
	close($q);
	return $n;
}
my $q7 = queries(qr/^7\.113\.0\.203\.in-addr\.arpa 12$/);
my $q8 = queries(qr/^8\.113\.0\.203\.in-addr\.arpa 12$/);
my $q6 = queries(qr/ip6\.arpa 12$/);
ok($q7 >= 1 && $q8 >= 1 && $q6 >= 1, "the names were asked ($q7, $q8, $q6)");
ok(queries(qr/^(1\.0\.9|3\.2\.1)\.10\./) + queries(qr/168\.192/) >= 3,
    'private addresses are asked too');

# Second run: from the cache, no query for what was answered.
$run = dry($rdns);
$r = by_n($run);
is($r->{3}{'src_ip.hostname'}, 'host7.example.net',
    'second run: name from the cache');
is(queries(qr/^7\.113\.0\.203\.in-addr\.arpa 12$/), $q7,
    '... no new query for a name found');
is(queries(qr/^8\.113\.0\.203\.in-addr\.arpa 12$/), $q8,
    '... nor for one not found (negative cache)');
is(queries(qr/ip6\.arpa 12$/), $q6, '... nor for the IPv6 one');

# A stored search with rdns makes alerts with the names.
($st, my $s) = $d->api(POST => '/api/v1/searches', $d->es_search(
	range => '1h', filters => $rdns));
is($st, 201, 'search with rdns saved') or diag explain $s;
($st, $run) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
is($run->{state}, 'success', 'real run succeeded') or diag $run->{error};
is($run->{alerts}, 8, '... 8 alerts');
my ($ast, $al) = $d->api(GET => "/api/v1/alerts?search=$s->{id}&limit=100");
my ($a7) = grep { ($_->{content}{n} // -1) == 3 } @{$al->{items}};
is($a7 && $a7->{content}{'src_ip.hostname'}, 'host7.example.net',
    '... the stored alert has the name');

# The operator takes maps_dir away (SIGHUP): table files are refused.
$d->{conf} = "resolver 127.0.0.1:$dns_port";
$d->write_conf;
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($pos) =~ /reloaded/ }, 30),
    'reloaded without maps_dir');
($st, $e) = $d->api(POST => '/api/v1/searches', $d->es_search(
	filters => [{ type => 'enrich', field => 'user', target => 'team',
	map_file => 'teams.txt' }]));
is($st, 422, 'no maps_dir: map_file refused');
like($e->{error}{message} // '', qr/^enrich: maps_dir is not set in 411d\.conf/,
    "... $e->{error}{message}");

$d->stop;
like($d->log, qr/stopped/, '411d stopped cleanly');

# Stop the name server now: closing a piped open waits for its child.
kill 'KILL', $dns_pid;
close($dns_fh);
$dns_pid = 0;
done_testing();
