#!/usr/bin/perl
# 0335-search-names.t -- search names are unique (import and people match
# searches by name): a create, a rename by PUT or PATCH, or a searches_dir
# file that takes a name in use is refused naming the search that has it,
# and nothing stored changes.  A file that is not valid JSON is reported
# with its line and column.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use Test411;
use TestRedis;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
plan skip_all => 'no redis-server' unless TestRedis->available;

my $J = JSON::PP->new->canonical;
my $redis = TestRedis->new;
my $sdir = tempdir('411-sn-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub put_file {
	my ($name, $text) = @_;
	open(my $fh, '>', "$sdir/$name") or die "$name: $!";
	print $fh $text;
	close($fh);
}
put_file('a.json', $J->encode({ name => 'from file', type => 'push' }));
my $d = Test411->new(redis => $redis, searches_dir => $sdir);
$d->start;

my ($st, $one) = $d->api(POST => '/api/v1/searches',
    { name => 'ssh', type => 'push' });
is($st, 201, 'a search named ssh');
($st, my $j) = $d->api(POST => '/api/v1/searches',
    { name => 'ssh', type => 'push', priority => 'high' });
is($st, 409, 'a second search named ssh: 409');
is($j->{error}{field}, 'name', '... naming the field');
like($j->{error}{message}, qr/search $one->{id} is already named "ssh"/,
    '... and the search that has the name');
($st, $j) = $d->api(POST => '/api/v1/searches',
    { name => 'from file', type => 'push' });
is($st, 409, 'the name of a file search: 409');
like($j->{error}{message}, qr/\(file a\.json\)/, '... naming the file');

($st, my $two) = $d->api(POST => '/api/v1/searches',
    { name => 'web', type => 'push' });
is($st, 201, 'a search named web');
($st, $j) = $d->api(PUT => "/api/v1/searches/$two->{id}",
    { name => 'ssh', type => 'push' });
is($st, 409, 'PUT renaming web to ssh: 409');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$two->{id}", { name => 'ssh' });
is($st, 409, 'PATCH renaming web to ssh: 409');
($st, $j) = $d->api(GET => "/api/v1/searches/$two->{id}");
is($j->{name}, 'web', '... web keeps its name');
is($j->{version}, 1, '... and its version: nothing stored changed');
($st, $j) = $d->api(PUT => "/api/v1/searches/$two->{id}",
    { name => 'web', type => 'push', priority => 'high' });
is($st, 200, 'a search keeps its own name on PUT');
($st, $j) = $d->api(PATCH => "/api/v1/searches/$two->{id}", { name => 'www' });
is($st, 200, 'a rename to a free name');
($st, $j) = $d->api(POST => '/api/v1/searches', { name => 'web', type => 'push' });
is($st, 201, 'the old name is free again');
($st, $j) = $d->api(GET => '/api/v1/searches?limit=100');
my %n;
$n{$_->{name}}++ for @{$j->{items}};
is_deeply([sort grep { $n{$_} > 1 } keys %n], [], 'no two searches share a name');

# searches_dir: a file that takes a name in use is refused, the holder kept;
# a file that is not JSON is reported with line and column.
put_file('b.json', $J->encode({ name => 'ssh', type => 'push' }));
put_file('c.json', qq({\n  "name": "broken",\n  "type": "push",,\n}\n));
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($pos) =~ /c\.json/ }, 30),
    'SIGHUP: the new files are read');
my $log = $d->log_since($pos);
like($log, qr/b\.json: name: search $one->{id} is already named "ssh"/,
    'a file with a taken name is refused, naming the holder');
like($log, qr/c\.json: not valid JSON: .* at line 3, column \d+/,
    'a file that is not JSON: line and column');
($st, $j) = $d->api(GET => "/api/v1/searches/$one->{id}");
is($j->{origin}, 'api', 'the API search named ssh is untouched');
($st, $j) = $d->api(GET => '/api/v1/searches?limit=100');
is(scalar(grep { $_->{name} eq 'ssh' } @{$j->{items}}), 1,
    '... and is the only ssh');

# An API body that is not JSON: line and column too.
my ($st2, $j2) = $d->api(POST => '/api/v1/searches',
    qq({"name": "x",\n "type": }));
is($st2, 400, 'a body that is not JSON: 400');
like($j2->{error}{message}, qr/at line 2, column \d+/, '... with line and column');

done_testing;
