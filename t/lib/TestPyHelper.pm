# TestPyHelper.pm -- start the Python stand-ins of t/lib (smtp_sink.py,
# jira_fake.py) for the tests, with Debian's /usr/bin/python3.
#
#   my ($dir, $port) = TestPyHelper::start('smtp_sink.py', @args);
#   wait_for(sub { ... }, $timeout);     # 30 s by default (exported on
#   my $obj = slurp_json("$dir/1.json"); # request, as is slurp_json)
#
# Each helper runs in its own temporary directory (kept with T_KEEP=1),
# writes its port to DIR/port once it answers, and is stopped at exit.
package TestPyHelper;

use strict;
use warnings;
use Exporter qw(import);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Test::More;
use Test411;

our @EXPORT_OK = qw(wait_for slurp_json);

my @kids;
END { local $?; kill 'TERM', @kids if @kids; waitpid($_, 0) for @kids }

# Whether /usr/bin/python3 has aiosmtpd (smtp_sink.py needs it).
sub have_aiosmtpd {
	return system('/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null') == 0;
}

# Start t/lib/SCRIPT DIR ARGS...; returns (dir, port).
sub start {
	my ($script, @args) = @_;
	my $srcdir = Test411::srcdir();
	my $dir = tempdir('411-py-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{T_KEEP});
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		open(STDOUT, '>', "$dir/out.log");
		open(STDERR, '>&', \*STDOUT);
		{ exec('/usr/bin/python3', "$srcdir/t/lib/$script", $dir, @args) };
		POSIX::_exit(127);
	}
	push @kids, $pid;
	my $deadline = time + 20;
	until (-s "$dir/port") {
		BAIL_OUT("$script did not start") if time > $deadline ||
		    waitpid($pid, WNOHANG) == $pid;
		sleep(0.05);
	}
	open(my $fh, '<', "$dir/port") or die "$dir/port: $!";
	chomp(my $port = <$fh>);
	return ($dir, $port);
}

# Poll cond every 0.1 s until it is true or timeout seconds pass.
sub wait_for {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout || 30);
	while (time < $deadline) {
		my $v = $cond->();
		return $v if $v;
		sleep(0.1);
	}
	return undef;
}

# A JSON file's content, or undef (absent, or not complete JSON yet).
sub slurp_json {
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	my $t = <$fh>;
	return eval { JSON::PP->new->decode($t) };
}

1;
