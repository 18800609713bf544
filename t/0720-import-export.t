#!/usr/bin/perl
# 0720-import-export.t -- F5: GET /api/v1/searches/export and POST
# /api/v1/searches/import: a round trip into a fresh 411d, create and
# upsert by name, all or nothing with every refused search listed (index
# and field), searches from searches_dir never overwritten, bad bodies.
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
my $sdir = tempdir('411-sd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open(my $fh, '>', "$sdir/f.json") or die;
print $fh $J->encode({ name => 'from file', type => 'push', priority => 'high' });
close($fh);
my $d = Test411->new(redis => $redis, searches_dir => $sdir);
$d->start;

sub by_name { [ sort { $a->{name} cmp $b->{name} } @{$_[0]} ] }

my @defs = (
	{ name => 'ids', type => 'push', priority => 'high', tags => ['net'],
	  fields => ['host', 'sig'],
	  filters => [{ type => 'dedupe', key => ['host'], within => '1h' }],
	  targets => [{ target => 'soc-webhook' }] },
	{ name => 'waf', type => 'push', priority => 'low',
	  description => 'web firewall', targets => [{ target => 'mail' }] },
	{ name => 'misc', type => 'push', enabled => JSON::PP::false },
);
for my $def (@defs) {
	my ($st, $s) = $d->api(POST => '/api/v1/searches', $def);
	is($st, 201, "search $def->{name} created") or diag explain $s;
}

# export
my ($st, $ex) = $d->api(GET => '/api/v1/searches/export', undef, key => 'viewer');
is($st, 200, 'export (viewer)');
is(scalar @{$ex->{searches}}, 4, 'every search, the file one too');
my ($one) = grep { $_->{name} eq 'ids' } @{$ex->{searches}};
is_deeply($one, $defs[0], 'a definition as given, without server fields')
    or diag explain $one;
ok(!grep({ exists $_->{id} || exists $_->{version} || exists $_->{created}
    || exists $_->{origin} || exists $_->{status} } @{$ex->{searches}}),
    'no id, version, created, origin or status');
($st, my $j) = $d->api(GET => '/api/v1/searches/export?origin=api');
is(scalar @{$j->{searches}}, 3, 'origin=api: the API searches');
($st, $j) = $d->api(GET => '/api/v1/searches/export?origin=file');
is_deeply([map { $_->{name} } @{$j->{searches}}], ['from file'],
    'origin=file: the file search');
($st, $j) = $d->api(GET => '/api/v1/searches/export?origin=x');
is($st, 400, 'a bad origin: 400');
($st, $j) = $d->api(POST => '/api/v1/searches/export', {});
is($st, 405, 'POST on export: 405');

# round trip into a fresh 411d
my $d2 = Test411->new(redis => $redis);
$d2->start;
($st, $j) = $d2->api(POST => '/api/v1/searches/import', $ex, key => 'viewer');
is($st, 403, 'import needs an editor');
($st, $j) = $d2->api(POST => '/api/v1/searches/import',
    { %$ex, change_note => 'moved' }, key => 'editor');
is($st, 200, 'imported into a fresh 411d') or diag explain $j;
is($j->{created}, 4, '... 4 created');
is($j->{updated}, 0, '... none updated');
is(scalar @{$j->{items}}, 4, '... one item each');
($st, my $ex2) = $d2->api(GET => '/api/v1/searches/export');
is_deeply(by_name($ex2->{searches}), by_name($ex->{searches}),
    'the export of the copy is the same');
my $sid = $j->{items}[0]{id};
($st, $j) = $d2->api(GET => "/api/v1/searches/$sid/history");
is($j->{items}[0]{change_note}, 'moved', 'the import is in the history');
is($j->{items}[0]{actor}, 'editor-key', '... with its actor');

# create mode refuses names that exist; nothing is stored
($st, $j) = $d2->api(POST => '/api/v1/searches/import', $ex);
is($st, 422, 'the same names again in create mode: 422');
is(scalar @{$j->{error}{errors}}, 4, '... every search listed');
is_deeply([map { "$_->{index}:$_->{field}" } @{$j->{error}{errors}}],
    ['0:name', '1:name', '2:name', '3:name'], '... by index and field');
like($j->{error}{field}, qr/^searches\[0\]\.name$/, '... the first in "field"');
is($j->{error}{code}, 'invalid', '... code invalid');
like($j->{error}{message}, qr/nothing was imported/, '... and says so');

# upsert replaces by name
my @changed = map { { %$_ } } @{$ex->{searches}};
$_->{priority} = 'critical' for @changed;
($st, $j) = $d2->api(POST => '/api/v1/searches/import',
    { searches => \@changed, mode => 'upsert' });
is($st, 200, 'upsert') or diag explain $j;
is($j->{updated}, 4, '... 4 updated');
is(join(',', map { $_->{result} } @{$j->{items}}), 'updated,updated,updated,updated',
    '... each one');
($st, $j) = $d2->api(GET => "/api/v1/searches/$sid");
is($j->{priority}, 'critical', '... the change is live');
is($j->{version}, 2, '... at version 2');

# all or nothing
($st, $j) = $d2->api(GET => '/api/v1/searches');
my $count = scalar @{$j->{items}};
($st, $j) = $d2->api(POST => '/api/v1/searches/import', { searches => [
	{ name => 'new one', type => 'push' },
	{ name => 'bad type', type => 'carrier-pigeon' },
	{ name => 'new two', type => 'push' },
	{ name => 'bad target', type => 'push', targets => [{ target => 'nope' }] },
	'not an object',
	{ name => 'new one', type => 'push' },
] });
is($st, 422, 'one good, several bad: 422');
is_deeply([map { "$_->{index}:$_->{field}" } @{$j->{error}{errors}}],
    ['1:type', '3:targets[0].target', '4:', '5:name'],
    'every refused search, by index and field') or diag explain $j;
($st, $j) = $d2->api(GET => '/api/v1/searches');
is(scalar @{$j->{items}}, $count, 'nothing was stored');

# a search from searches_dir is never overwritten
($st, $j) = $d->api(POST => '/api/v1/searches/import', { mode => 'upsert',
    searches => [{ name => 'from file', type => 'push', priority => 'low' }] });
is($st, 422, 'upsert over a file search: 422');
like($j->{error}{errors}[0]{message}, qr/searches_dir/, '... it comes from a file');
($st, $j) = $d->api(GET => '/api/v1/searches/export?origin=file');
is($j->{searches}[0]{priority}, 'high', '... and stays as it was');

# bad bodies
my @bad = (
	['{"searches": ', 400, undef, 'malformed JSON'],
	['[1]', 400, undef, 'not an object'],
	['', 400, undef, 'no body'],
	[{}, 422, 'searches', 'no searches'],
	[{ searches => {} }, 422, 'searches', 'searches not an array'],
	[{ searches => [], mode => 'merge' }, 422, 'mode', 'an unknown mode'],
	[{ searches => [], bogus => 1 }, 422, 'bogus', 'an unknown member'],
	[{ searches => [], change_note => [] }, 422, 'change_note', 'a bad note'],
	[{ searches => [ ({ type => 'push' }) x 1001 ] }, 422, 'searches',
	    'more than 1000 searches'],
);
for my $b (@bad) {
	($st, $j) = $d2->api(POST => '/api/v1/searches/import', $b->[0]);
	is($st, $b->[1], "$b->[3]: $b->[1]");
	is($j->{error}{field}, $b->[2], "... naming $b->[2]") if defined $b->[2];
	ok(defined $j->{error}{code} && defined $j->{error}{message},
	    '... in the common shape');
}
($st, $j) = $d2->api(POST => '/api/v1/searches/import', { searches => [] });
is($st, 200, 'an empty import is fine');
is($j->{created}, 0, '... and makes nothing');
($st, $j) = $d2->api(GET => '/api/v1/searches/import');
is($st, 405, 'GET on import: 405');

# the audit log has the import
($st, $j) = $d2->api(GET => '/api/v1/audit?object=searches');
like($j->{items}[-1]{summary}, qr/^import: 4 created, 0 updated: moved$/,
    'the import is audited') or diag explain $j;

is($d2->stop, 0, 'clean stop (copy)');
is($d->stop, 0, 'clean stop');
done_testing();
