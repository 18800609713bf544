#!/usr/bin/perl
# 0010-config.t -- 411d -n on good and bad configs: every error in one
# pass, each as FILE:LINE: message; the shipped etc/411d.conf is valid.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;
my $dir = tempdir('411-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub check {
	my ($text) = @_;
	my $f = "$dir/411d.conf";
	open(my $fh, '>', $f) or die;
	print $fh $text;
	close($fh);
	my $out = `$bin -n -c $f 2>&1`;
	return ($? >> 8, $out, $f);
}

my ($rc, $out, $f) = check(<<"EOC");
# a complete config
listen 127.0.0.1:0
datadir $dir/data
redis unix:$dir/redis.sock
redis_prefix "411:"
source logs es http://127.0.0.1:9200 index "logs-*" date_field \@timestamp max_concurrency 4 timeout 30s
searches_dir $dir/searches.d
api_key ops admin 0123456789abcdef0123
target soc webhook url http://127.0.0.1:9/x
EOC
is($rc, 0, 'a complete config is OK') or diag $out;
like($out, qr/configuration OK/, '... configuration OK');

($rc, $out, $f) = check(<<"EOC");
listen 127.0.0.1:99999
datadir
nonsense 1 2
source logs es http://127.0.0.1:9200 timeout forever
source logs es http://127.0.0.1:9201
source m zzz http://x
api_key k superuser 0123456789abcdef0123
api_key k2 viewer short
EOC
is($rc, 1, 'a bad config exits 1');
my @lines = grep { length } split /\n/, $out;
my @errs = grep { /^\Q$f\E:\d+: / } @lines;
cmp_ok(scalar @errs, '>=', 8, 'every error reported in one pass') or diag $out;
like($out, qr/^\Q$f\E:1: .*port/m, 'line 1: bad port');
like($out, qr/^\Q$f\E:2: .*datadir/m, 'line 2: datadir without argument');
like($out, qr/^\Q$f\E:3: .*nonsense/m, 'line 3: unknown directive named');
like($out, qr/^\Q$f\E:4: .*timeout/m, 'line 4: bad duration named');
like($out, qr/^\Q$f\E:5: .*logs/m, 'line 5: duplicate source named');
like($out, qr/^\Q$f\E:6: .*zzz/m, 'line 6: unknown source type named');
like($out, qr/^\Q$f\E:7: .*superuser/m, 'line 7: unknown role named');
like($out, qr/^\Q$f\E:8: .*(short|16)/m, 'line 8: key too short');
unlike($out, qr/configuration OK/, 'no OK on a bad config');

# missing file
$out = `$bin -n -c $dir/nope.conf 2>&1`;
is($? >> 8, 1, 'a missing config file exits 1');
like($out, qr/nope\.conf/, '... naming the file');

# the shipped example config
my $shipped = ($ENV{T_SRCDIR} // '.') . '/etc/411d.conf';
SKIP: {
	skip 'no etc/411d.conf', 2 unless -f $shipped;
	$out = `$bin -n -c $shipped 2>&1`;
	is($? >> 8, 0, 'the shipped etc/411d.conf is valid') or diag $out;
	like($out, qr/configuration OK/, '... configuration OK');
}

# 411d refuses to start on a bad config, with the same messages
($rc, $out, $f) = check("listen nowhere\n");
$out = `$bin -d -c $f 2>&1`;
isnt($? >> 8, 0, '411d will not start on a bad config');
like($out, qr/^\Q$f\E:1: /m, '... and says where');

# An empty quoted word: named as "", never stale bytes (ASAN found a read
# past the word here); the same parser serves 411-notify.
($rc, $out, $f) = check(qq{"" x\n});
is($rc, 1, 'a line `"" x` is refused');
like($out, qr/^\Q$f\E:1: unknown directive ""\n/m, '... naming the empty word');
my $notify = ($ENV{T_BUILDDIR} // '.') . '/src/411-notify';
SKIP: {
	skip 'no 411-notify', 2 unless -x $notify;
	$out = `$notify -n -c $f 2>&1`;
	is($? >> 8, 1, '411-notify refuses it too');
	like($out, qr/^\Q$f\E:1: unknown directive ""\n/m, '... in the same words');
}

# One-off directives may not repeat: the second is refused, naming both lines.
for my $d ('listen 127.0.0.1:0', "datadir $dir/data", "redis unix:$dir/r.sock",
    'redis_prefix "x:"', 'max_runs 5') {
	my ($name) = split / /, $d;
	($rc, $out, $f) = check("$d\n# again\n$d\n");
	is($rc, 1, "$name given twice is refused");
	like($out, qr/^\Q$f\E:3: \Q$name\E: given again \(first at line 1\)/m,
	    '... naming both lines');
}

# A 5 KB unknown directive is echoed cut to 64 bytes.
($rc, $out, $f) = check(('Z' x 5000) . " 1\n");
is($rc, 1, 'a 5 KB unknown directive is refused');
cmp_ok(length($out), '<', 400, '... with a short message') or diag length $out;
like($out, qr/unknown directive "Z{64}\.\.\."/, '... cut to 64 bytes');

done_testing;
