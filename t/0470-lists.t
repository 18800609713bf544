#!/usr/bin/perl
# 0470-lists.t -- named lists: @NAME in an es query is expanded from a file
# list and a url list; a changed file is used after SIGHUP and after its
# refresh; a url list that cannot be fetched keeps its last good copy and
# /healthz says so; an unknown list is refused; bad list lines are errors.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Test411;
use TestRedis;
use FakeES;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;
plan skip_all => 'no python3' unless FakeES->available;

my $tmp = tempdir('411-lists-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
	my ($f, $text) = @_;
	open(my $fh, '>', "$f.new") or die "$f: $!";
	print $fh $text;
	close($fh);
	rename("$f.new", $f) or die "rename: $!";
}

# bad list lines, reported as FILE:LINE by 411d -n
write_file("$tmp/bad.conf", join("\n",
    'listen 127.0.0.1:0', "datadir $tmp/data",
    "list a file $tmp/a.txt",
    "list a file $tmp/b.txt",
    'list b ftp x',
    'list c url nothttp',
    "list d file $tmp/d.txt refresh soon",
    "list e file $tmp/e.txt every 1s",
    "list f file $tmp/f.txt refresh 1m", '')) ;
my $out = `$bin -n -c $tmp/bad.conf 2>&1`;
isnt($? >> 8, 0, '411d -n refuses bad list lines');
like($out, qr/bad\.conf:4: list a: duplicate list name \(first at line 3\)/,
    'duplicate name, FILE:LINE');
like($out, qr/bad\.conf:5: list b: unknown list kind "ftp"/, 'bad kind');
like($out, qr/bad\.conf:6: list c: bad URL/, 'bad url');
like($out, qr/bad\.conf:7: list d: bad duration "soon"/, 'bad duration');
like($out, qr/bad\.conf:8: list e: unexpected "every"/, 'bad option');
unlike($out, qr/bad\.conf:(3|9):/, 'good lines are not errors');

# a tiny HTTP server for the url list
my $py = FakeES::python();
my $www = "$tmp/www";
mkdir $www;
write_file("$www/users.txt", "# users\nroot\n\nad\"min\n");
my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 1) or die;
my $hport = $sock->sockport;
close($sock);
my $hpid = fork();
die "fork: $!" unless defined $hpid;
if ($hpid == 0) {
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', '/dev/null');
	chdir($www);
	exec($py, '-m', 'http.server', '--bind', '127.0.0.1', $hport) or die;
}
my $up = 0;
for (1 .. 100) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hport");
	if ($c) { $up = 1; close($c); last }
	sleep(0.1);
}
ok($up, 'the little HTTP server is up');

write_file("$tmp/hosts.txt", "# hosts\nweb01\n  web03  \n\n");
write_file("$tmp/empty.txt", "# nothing yet\n");
my $redis = TestRedis->new;
my $es = FakeES->new(flavour => 'es7');
my $d = Test411->new(redis => $redis, es => $es, conf => join("\n",
    "list hosts file $tmp/hosts.txt",
    "list fast file $tmp/fast.txt refresh 1s",
    "list empty file $tmp/empty.txt",
    "list users url http://127.0.0.1:$hport/users.txt refresh 1s"));
write_file("$tmp/fast.txt", "web02\n");
$d->start;

my $now = int(time * 1000);
my @docs;
for my $i (0 .. 4) {
	push @docs, { '@timestamp' => $now - 600_000 + $i * 1000,
	    program => 'sshd', host => "web0$i",
	    user => ($i == 0 ? 'root' : $i == 1 ? 'ad"min' : 'alice') };
}
$es->docs('logs-2026.11.25', \@docs);

sub try_query {
	my ($q) = @_;
	$es->clear_requests;
	my ($st, $r) = $d->api(POST => '/api/v1/searches/test',
	    $d->es_search(query => $q, fields => ['host'], range => '1h'));
	my ($req) = grep { $_->{path} =~ m{_search} } @{$es->requests};
	my $qs = $req ? $req->{body}{query}{bool}{must}[0]{query_string}{query}
	    : undef;
	return ($st, $r, $qs);
}

sub hosts_of {
	my ($r) = @_;
	return [sort map { $_->{content}{host} } @{$r->{results} || []}];
}

my ($st, $r, $qs) = try_query('program:sshd AND host:@hosts');
is($st, 200, 'a query with @hosts runs') or diag explain $r;
is($qs, 'program:sshd AND host:("web01" OR "web03")',
    'the query_string sent has the values, quoted');
is_deeply(hosts_of($r), ['web01', 'web03'], 'it finds the listed hosts');

# the url list: values escaped for Lucene
ok($d->wait_for(sub {
	my (undef, $h) = $d->api(GET => '/healthz');
	$h->{lists}{users}{values} == 2 }, 20), 'the url list is fetched');
($st, $r, $qs) = try_query('user:@users');
is($qs, 'user:("root" OR "ad\\"min")', 'quotes in values are escaped');
is_deeply(hosts_of($r), ['web00', 'web01'], 'url list values match');

# an empty list matches nothing
($st, $r, $qs) = try_query('host:@empty');
is($qs, 'host:(__411_empty_list__)', 'an empty list: a term for nothing');
is_deeply(hosts_of($r), [], '... which finds nothing');

# SIGHUP re-reads a changed file
write_file("$tmp/hosts.txt", "web04\n");
$d->signal('HUP');
ok($d->wait_for(sub { (try_query('host:@hosts'))[2] eq 'host:("web04")' },
    20), 'after SIGHUP the new values are used');
($st, $r) = try_query('host:@hosts');
is_deeply(hosts_of($r), ['web04'], '... and match');

# a short refresh re-reads it alone
($st, $r, $qs) = try_query('host:@fast');
is($qs, 'host:("web02")', 'the refresh 1s list');
write_file("$tmp/fast.txt", "web00\nweb02\n");
ok($d->wait_for(sub {
	(try_query('host:@fast'))[2] eq 'host:("web00" OR "web02")' }, 20),
    'after its refresh the new values are used');

# the server goes away: the last good copy stays
kill('TERM', $hpid);
waitpid($hpid, 0);
$hpid = undef;
my $h;
ok($d->wait_for(sub {
	(undef, $h) = $d->api(GET => '/healthz');
	defined $h->{lists}{users}{error} }, 20), '/healthz shows the error')
    or diag explain $h;
is($h->{lists}{users}{values}, 2, '... and the values kept');
like($h->{lists}{users}{updated}, qr/^\d{4}-/, '... with their time');
is($h->{lists}{hosts}{error}, undef, 'a good list has a null error');
($st, $r, $qs) = try_query('user:@users');
is($qs, 'user:("root" OR "ad\\"min")', 'the last good copy is used');
like($d->log, qr/list users: .*keeping the last good copy/,
    'a warning in the log');

# unknown list
($st, $r) = $d->api(POST => '/api/v1/searches',
    $d->es_search(query => 'host:@nosuch'));
is($st, 422, 'an unknown list is refused');
is($r->{error}{field}, 'query', '... naming query');
like($r->{error}{message}, qr/no list "nosuch"/, '... and the list');
($st) = $d->api(POST => '/api/v1/searches',
    $d->es_search(query => 'mail:"x @nosuch" OR user:a@b'));
is($st, 201, 'an @ in a phrase or inside a word is not a list');

$d->stop;
done_testing;

END { kill('TERM', $hpid) if $hpid }
