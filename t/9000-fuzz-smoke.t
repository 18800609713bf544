#!/usr/bin/perl
# 9000-fuzz-smoke.t -- every libFuzzer target of t/fuzz for a few seconds
# from its committed seeds, with a fixed seed and a fixed number of runs
# (the same inputs each time): a crash, a leak or a sanitizer report
# fails.  Only in a build configured with --enable-fuzz CC=clang after
# `make fuzz` (contrib/check's "fuzz" variant); skipped elsewhere.
# FUZZ_SMOKE_RUNS changes the runs per target (default 10000), at most
# FUZZ_SMOKE_SECONDS each (default 30).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

our $TODO;

my $build = $ENV{T_BUILDDIR} // '.';
my $src = $ENV{T_SRCDIR} // '.';
my $runs = $ENV{FUZZ_SMOKE_RUNS} || 10000;
my $secs = $ENV{FUZZ_SMOKE_SECONDS} || 30;

opendir(my $dh, "$src/t/fuzz") or plan skip_all => "no $src/t/fuzz";
my @names = sort map { /^fuzz_(\w+)\.c$/ ? $1 : () } readdir($dh);
closedir($dh);
# fuzz_src.c is shared by the source targets, not a target
@names = grep { $_ ne 'src' } @names;
plan skip_all => "no fuzz programs (configure --enable-fuzz CC=clang; make fuzz)"
    unless grep { -x "$build/t/fuzz/fuzz_$_" } @names;
plan tests => scalar(@names);

# A target with an input in t/fuzz/crashes-found/NAME-* fails for a known
# reason, fixed elsewhere: TODO until then.  Once fixed the test passes
# (XPASS, a failure for CI): move the input into t/fuzz/corpus/NAME/.
my %known;
if (opendir(my $ch, "$src/t/fuzz/crashes-found")) {
	for (readdir($ch)) {
		$known{$1} = "$_ (t/fuzz/crashes-found/README)" if /^(\w+?)-/;
	}
	closedir($ch);
}

my $tmp = tempdir('411-fuzz-smoke-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $name (@names) {
	local $TODO = $known{$name} ? "known: $known{$name}" : undef;
	my $bin = "$build/t/fuzz/fuzz_$name";
	my $seeds = "$src/t/fuzz/corpus/$name";
	unless (-x $bin) {
		fail("$name: no program $bin (make fuzz)");
		next;
	}
	unless (-d $seeds) {
		fail("$name: no seeds in $seeds");
		next;
	}
	# New inputs go to the first directory (scratch), never to the tree.
	my $work = "$tmp/$name";
	mkdir($work) or die "$work: $!";
	my $log = "$tmp/$name.log";
	my @cmd = ($bin, "-seed=1", "-runs=$runs", "-max_total_time=$secs",
	    "-rss_limit_mb=2048", "-malloc_limit_mb=2048", "-timeout=10",
	    "-close_fd_mask=2", "-print_final_stats=1",
	    "-artifact_prefix=$build/t/fuzz/crash-$name-", $work, $seeds);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec(@cmd) or die "exec $bin: $!";
	}
	waitpid($pid, 0);
	my $rc = $? >> 8;
	my $sig = $? & 127;
	open(my $fh, '<', $log) or die "$log: $!";
	my @out = <$fh>;
	close($fh);
	my ($execs) = map { /^stat::number_of_executed_units:\s*(\d+)/ ? $1 : () } @out;
	$execs //= 0;
	my $bad = $rc != 0 || $sig != 0 ||
	    grep { /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/ } @out;
	ok(!$bad && $execs > 0, "$name: $execs runs, no crash") or
	    diag("exit $rc signal $sig; crash input: $build/t/fuzz/crash-$name-*\n",
		join('', @out > 60 ? @out[-60 .. -1] : @out));
}
